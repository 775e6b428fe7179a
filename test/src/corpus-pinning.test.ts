/**
 * The pinned corpus: src/corpus-pin.ts records the bundled corpus's digest (what
 * the generator writes), checkCorpusPin compares a corpus with it, and a copy of
 * the corpus whose tensors were rewritten with every checksum recomputed (it
 * verifies on its own) is reported as a mismatch by `conv2d-fixtures verify`
 * (exit 1) and in the runner's header and JSON report.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { pinFor } from '../../generator/corpus-pin-writer.js';
import { CORPUS_PIN } from '../../src/corpus-pin.js';
import { checkCorpusPin, formatCorpusPinSource } from '../../src/corpus-pinning.js';
import { sha256Hex } from '../../src/hash.js';
import { buildManifest, loadManifest, readManifestEntry, verifyCorpus, writeManifest } from '../../src/manifest.js';
import { bundledCorpusDir, packageRoot } from '../../src/paths.js';
import { adapterPath, readReport, REPO_ROOT, runCli, type CliRun } from '../conformance/run-cli.js';

let root = '';
t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'corpus-pinning-'));
});
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test('src/corpus-pin.ts is what the generator writes for the bundled corpus', async (t) => {
  const manifest = await loadManifest(bundledCorpusDir());
  const committed = await readFile(join(packageRoot(), 'src', 'corpus-pin.ts'), 'utf8');
  t.equal(committed, formatCorpusPinSource(pinFor(manifest)), 'regenerate the corpus with the generator, which rewrites src/corpus-pin.ts');
  t.same(checkCorpusPin(manifest, { bundled: true }).status, 'match');
});

t.test('checkCorpusPin: match, mismatch, unknown-version', async (t) => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const pin = { bundled: { corpusVersion: '2.0.0', digest: a, fixtureCount: 3 }, released: { '1.0.0': b, '2.0.0': a } };
  t.same(checkCorpusPin({ corpusVersion: '2.0.0', digest: a }, { bundled: true }, pin), {
    status: 'match',
    pinnedDigest: a,
    message: 'pinned: matches the corpus this package shipped (2.0.0, digest aaaaaaaaaaaa)',
  });
  t.same(checkCorpusPin({ corpusVersion: '2.0.0', digest: b }, { bundled: true }, pin), {
    status: 'mismatch',
    pinnedDigest: a,
    message: `PIN MISMATCH: the bundled corpus is 2.0.0 with digest ${b}, but this package shipped 2.0.0 with digest ${a}: its files were changed after the package was built`,
  });
  // An older release given with --fixtures matches its own release.
  t.same(checkCorpusPin({ corpusVersion: '1.0.0', digest: b }, { bundled: false }, pin).status, 'match');
  t.same(checkCorpusPin({ corpusVersion: '1.0.0', digest: a }, { bundled: false }, pin).status, 'mismatch');
  t.same(checkCorpusPin({ corpusVersion: '9.9.9', digest: a }, { bundled: false }, pin), {
    status: 'unknown-version',
    pinnedDigest: null,
    message: 'not pinned: corpus version 9.9.9 was never released (released: 1.0.0, 2.0.0), so digest aaaaaaaaaaaa cannot be compared with a release',
  });
  // Inherited names are not versions.
  t.same(checkCorpusPin({ corpusVersion: 'constructor', digest: a }, { bundled: false }, pin).status, 'unknown-version');
});

function runFixtures(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'dist', 'cli', 'bin', 'conv2d-fixtures.js'), ...args], { cwd: REPO_ROOT }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, signal: null, stdout, stderr });
    });
  });
}

t.test('a tampered copy with every checksum recomputed: verify exits 1, the runner says so in its header and report', async (t) => {
  const copy = join(root, 'tampered');
  await cp(bundledCorpusDir(), copy, { recursive: true });
  const original = await loadManifest(copy);
  // One fixture: flip the last byte of dx.npy (a value, not the header), then recompute
  // its sha256 in fixture.json, and the manifest (entries and digest) from the folders.
  const id = original.fixtures.find((entry) => entry.dtype === 'float32' && entry.family === 'normal')!.id;
  const dx = join(copy, id, 'dx.npy');
  const bytes = await readFile(dx);
  bytes[bytes.length - 1] ^= 0x01;
  await writeFile(dx, bytes);
  const metaPath = join(copy, id, 'fixture.json');
  const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { files: Record<string, { path: string; sha256: string }> };
  const dxFile = Object.values(meta.files).find((file) => file.path === 'dx.npy')!;
  dxFile.sha256 = sha256Hex(bytes);
  await writeFile(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  const entries = await Promise.all(original.fixtures.map((entry) => readManifestEntry(join(copy, entry.path))));
  const forged = buildManifest({ corpusVersion: original.corpusVersion, generator: original.generator, entries });
  await writeManifest(copy, forged);
  t.same(await verifyCorpus(copy), [], 'the forged corpus verifies on its own: every checksum agrees');
  t.not(forged.digest, CORPUS_PIN.released[original.corpusVersion]);

  const verify = await runFixtures(['verify', copy]);
  t.equal(verify.code, 1, 'verify exits 1');
  t.equal(
    verify.stdout,
    `FAILED ${copy}: PIN MISMATCH: corpus ${original.corpusVersion} has digest ${forged.digest}, but released corpus ${original.corpusVersion} has digest ${original.digest}: ` +
      'its files were changed after release (or regenerated under a released version)\n',
  );

  // The runner scores it (a --fixtures corpus may be anything) but says so first, loudly, and in the report.
  const json = join(root, 'report.json');
  const run = await runCli(['--impl', adapterPath('good-nchw.mjs'), '--fixtures', copy, '--only', id, '--json', json]);
  t.match(run.stdout, `PIN MISMATCH: corpus ${original.corpusVersion} has digest ${forged.digest}`);
  t.ok(run.stdout.indexOf('PIN MISMATCH') < run.stdout.indexOf('Time:'), 'in the header, before the summary');
  t.same(readReport(json).corpus.pin?.status, 'mismatch');
  t.equal(readReport(json).corpus.pin?.pinnedDigest, original.digest);
});
