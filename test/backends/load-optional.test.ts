import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { importOptional, installCommand, peerRange } from '../../backends/load-optional.js';
import { isConformanceError } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';

const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};

/** What Node's ESM loader throws for a package that is not installed. */
function notFound(name: string): Error {
  return Object.assign(new Error(`Cannot find package '${name}' imported from /somewhere/backends/x.js`), { code: 'ERR_MODULE_NOT_FOUND' });
}

t.test('the backends packages are optional peers, and dev dependencies for generation and CI', async (t) => {
  for (const name of ['onnxruntime-node', '@tensorflow/tfjs'] as const) {
    t.equal(peerRange(name), manifest.peerDependencies[name], `${name}: range from peerDependencies`);
    t.equal(manifest.peerDependenciesMeta[name]?.optional, true, `${name}: optional`);
    t.equal(manifest.devDependencies[name], manifest.peerDependencies[name], `${name}: the same range in devDependencies`);
    t.notOk(name in manifest.dependencies, `${name}: not a dependency`);
  }
});

t.test('a missing package is E_BACKEND_MISSING naming the npm i command', async (t) => {
  const error = await importOptional('onnxruntime-node', 'the onnxruntime backend', () => Promise.reject(notFound('onnxruntime-node'))).catch((caught: unknown) => caught);
  t.ok(isConformanceError(error, 'E_BACKEND_MISSING'), 'E_BACKEND_MISSING');
  const message = (error as Error).message;
  t.match(message, 'the onnxruntime backend needs the package onnxruntime-node, which is not installed');
  t.match(message, `ONNXRUNTIME_NODE_INSTALL=skip npm i -D 'onnxruntime-node@${manifest.peerDependencies['onnxruntime-node']}'`);
  t.equal(installCommand('@tensorflow/tfjs'), `npm i -D '@tensorflow/tfjs@${manifest.peerDependencies['@tensorflow/tfjs']}'`);
});

t.test('other failures are not taken for a missing package', async (t) => {
  // A package the optional one imports is missing: its own error, unchanged.
  const inner = notFound('@tensorflow/tfjs-core');
  t.equal(await importOptional('@tensorflow/tfjs', 'the tfjs backend', () => Promise.reject(inner)).catch((caught: unknown) => caught), inner);
  const broken = new Error('libonnxruntime.so.1: cannot open shared object file');
  t.equal(await importOptional('onnxruntime-node', 'the onnxruntime backend', () => Promise.reject(broken)).catch((caught: unknown) => caught), broken);
  t.equal(await importOptional('onnxruntime-node', 'x', async () => 'loaded'), 'loaded', 'an installed package is returned');
});
