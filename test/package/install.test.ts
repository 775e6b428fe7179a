/**
 * The package as a consumer gets it: `npm pack` into a temporary folder, a new project (`npm init -y`), and a plain `npm i <tarball>`
 * with no ONNXRUNTIME_NODE_INSTALL in the environment. Then the consumer's own
 * adapter is scored with `npx conformance-runner`, and the bundled onnxruntime
 * and tfjs adapters, whose optional peer packages are not installed, exit 2
 * saying what to install.
 *
 * It reaches the npm registry (through npm's cache) and takes a minute or two.
 * It packs with --ignore-scripts, i.e. without prepack's build: the build is the
 * one npm test's pretest made, and rebuilding dist/ here would rewrite files that
 * tests running in parallel are reading.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Manifest } from '../../src/types.js';
import type { Report } from '../../src/report-types.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE_NAME = 'conv2d-backward-conformance';
/** The limit for a consumer's node_modules, corpus included. */
const NODE_MODULES_LIMIT_BYTES = 100 * 1024 * 1024;

// Installs take 30-90 s on a loaded machine.
t.setTimeout(20 * 60 * 1000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * The environment of a consumer's shell: no ONNXRUNTIME_NODE_INSTALL, and none of
 * the variables npm sets for this project's own scripts (npm_package_*,
 * npm_lifecycle_*, npm_config_local_prefix, INIT_CWD), which would tie the
 * child npm to this project. npm's cache and registry settings stay.
 */
function consumerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^ONNXRUNTIME_NODE_INSTALL/i.test(key)) continue;
    if (/^npm_(package|lifecycle)_/i.test(key) || /^npm_config_local_prefix$/i.test(key) || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  env.NO_COLOR = '1';
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  const start = performance.now();
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: consumerEnv(), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr, seconds: (performance.now() - start) / 1000 });
    });
  });
}

/** Disk usage of a folder like `du`: allocated blocks (512 bytes each) of every entry, symlinks not followed. */
async function diskUsage(path: string): Promise<number> {
  const stats = await lstat(path);
  let total = stats.blocks * 512;
  if (stats.isDirectory()) {
    for (const name of await readdir(path)) total += await diskUsage(join(path, name));
  }
  return total;
}

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/**
 * A correct float32 NCHW / OIHW adapter as a consumer would write it:
 *   dx[n, c, ih, iw] += dy[n, o, oh, ow] * w[o, i, kh, kw]
 *   dw[o, i, kh, kw] += dy[n, o, oh, ow] * x[n, c, ih, iw]
 *   db[o]            += dy[n, o, oh, ow]
 * with c = group(o) * I + i, ih = oh*strideH + kh*dilationH - top (and the same for
 * widths), summed in float64 and stored in float32.
 */
const CONSUMER_ADAPTER = `
export default {
  name: 'consumer-nchw-float32',
  dtypes: ['float32'],
  conv2dBackward({ x, w, dy, params }) {
    const [N, C, H, W] = x.shape;
    const [O, I, KH, KW] = w.shape;
    const [, , OH, OW] = dy.shape;
    const outPerGroup = O / params.groups;
    const dx = new Float64Array(x.data.length);
    const dw = new Float64Array(w.data.length);
    const db = new Float64Array(O);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < O; o++) {
        const group = Math.floor(o / outPerGroup);
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const gradient = dy.data[((n * O + o) * OH + oh) * OW + ow];
            db[o] += gradient;
            for (let i = 0; i < I; i++) {
              const c = group * I + i;
              for (let kh = 0; kh < KH; kh++) {
                const ih = oh * params.stride[0] + kh * params.dilation[0] - params.pads.top;
                if (ih < 0 || ih >= H) continue;
                for (let kw = 0; kw < KW; kw++) {
                  const iw = ow * params.stride[1] + kw * params.dilation[1] - params.pads.left;
                  if (iw < 0 || iw >= W) continue;
                  const xIndex = ((n * C + c) * H + ih) * W + iw;
                  const wIndex = ((o * I + i) * KH + kh) * KW + kw;
                  dx[xIndex] += gradient * w.data[wIndex];
                  dw[wIndex] += gradient * x.data[xIndex];
                }
              }
            }
          }
        }
      }
    }
    return {
      dx: { dtype: 'float32', shape: [...x.shape], data: Float32Array.from(dx) },
      dw: { dtype: 'float32', shape: [...w.shape], data: Float32Array.from(dw) },
      db: { dtype: 'float32', shape: [O], data: Float32Array.from(db) },
    };
  },
};
`;

/**
 * A browser: adapter of db only (db[o] = sum over n, h, w of dy[n, o, h, w]), importing its sum
 * from a package in the consumer's node_modules, so that bundling must resolve the bare import there.
 */
const BROWSER_DB_ADAPTER = `import { sum } from 'consumer-sum';
export default {
  name: 'consumer-browser-db',
  dtypes: ['float32'],
  outputs: ['db'],
  conv2dBackward({ dy }) {
    const [N, O, OH, OW] = dy.shape;
    const db = new Float32Array(O);
    for (let o = 0; o < O; o++) {
      const values = [];
      for (let n = 0; n < N; n++) for (let p = 0; p < OH * OW; p++) values.push(dy.data[(n * O + o) * OH * OW + p]);
      db[o] = sum(values);
    }
    return { db: { dtype: 'float32', shape: [O], data: db } };
  },
};
`;

t.test('npm pack, then plain npm i of the tarball in a new project', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'conv2d-install-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const packDir = join(work, 'pack');
  const project = join(work, 'consumer');
  await Promise.all([mkdir(packDir), mkdir(project)]);

  const cli = join(REPO_ROOT, 'dist', 'cli', 'bin', 'conformance-runner.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first with \`npm run build\` (npm test's pretest does)`);
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], REPO_ROOT);
  t.equal(pack.code, 0, 'npm pack exits 0', { stderr: pack.stderr });
  const packed = JSON.parse(pack.stdout) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
  const [tarball] = packed;
  t.comment(`tarball ${tarball.filename}: ${megabytes(tarball.size)} MB packed, ${megabytes(tarball.unpackedSize)} MB unpacked, ${tarball.files.length} files (${pack.seconds.toFixed(0)} s)`);
  const paths = tarball.files.map((file) => file.path);
  t.notOk(paths.some((path) => path.startsWith('dist/generator/') || path.startsWith('dist/bench/') || path.startsWith('dist/test/') || path.startsWith('test/')), 'no generator, bench or tests in the tarball');
  t.notOk(paths.some((path) => path.endsWith('.map')), 'no sourcemaps in the tarball');
  t.ok(paths.includes('dist/cli/bin/conformance-runner.js') && paths.includes('fixtures/manifest.json') && paths.includes('dist/backends/onnxruntime.js'), 'the runner, the corpus and the backends are in it');

  const init = await run('npm', ['init', '-y'], project);
  t.equal(init.code, 0, 'npm init -y exits 0', { stderr: init.stderr });

  const install = await run('npm', ['i', join(packDir, tarball.filename), '--no-audit', '--no-fund'], project);
  t.equal(install.code, 0, 'npm i exits 0', { stdout: install.stdout, stderr: install.stderr });
  // npm 11 warns per package: "npm warn install-scripts   NAME@VERSION (postinstall: ...)".
  const output = `${install.stdout}\n${install.stderr}`;
  const scriptWarnings = output.split('\n').filter((line) => /install-scripts/.test(line) && line.includes(PACKAGE_NAME));
  t.same(scriptWarnings, [], 'no install-scripts warning names this package');
  const nodeModules = await diskUsage(join(project, 'node_modules'));
  t.comment(`npm i: ${install.seconds.toFixed(0)} s, node_modules ${megabytes(nodeModules)} MB`);
  t.ok(nodeModules <= NODE_MODULES_LIMIT_BYTES, `node_modules is ${megabytes(nodeModules)} MB, at most ${megabytes(NODE_MODULES_LIMIT_BYTES)} MB`);
  const installed = join(project, 'node_modules', PACKAGE_NAME);
  for (const optional of ['onnxruntime-node', '@tensorflow/tfjs']) {
    const present = await lstat(join(project, 'node_modules', optional)).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    t.notOk(present, `${optional} (an optional peer dependency) is not installed`);
  }

  // The consumer's adapter declares float32 only: every float32 fixture must pass, the rest are skipped.
  await writeFile(join(project, 'adapter.mjs'), CONSUMER_ADAPTER);
  const manifest = JSON.parse(await readFile(join(installed, 'fixtures', 'manifest.json'), 'utf8')) as Manifest;
  const float32Count = manifest.fixtures.filter((entry) => entry.dtype === 'float32').length;
  const scored = await run('npx', ['conformance-runner', '--impl', './adapter.mjs', '--json', 'report.json'], project);
  t.equal(scored.code, 0, 'npx conformance-runner --impl ./adapter.mjs exits 0', { stdout: scored.stdout.slice(-4000), stderr: scored.stderr.slice(-4000) });
  const report = JSON.parse(await readFile(join(project, 'report.json'), 'utf8')) as Report;
  t.equal(report.counts.pass, float32Count, `all ${float32Count} float32 fixtures pass`);
  t.equal(report.counts.skipped, manifest.fixtures.length - float32Count, 'the other dtypes are skipped');
  t.match(scored.stdout, new RegExp(`${float32Count} passed, 0 failed`), 'the console report says so');

  // The same adapter written in TypeScript (typed parameters): the runner loads .ts through tsx.
  const typed = CONSUMER_ADAPTER.replace(
    'conv2dBackward({ x, w, dy, params }) {',
    'conv2dBackward({ x, w, dy, params }: { x: Tensor; w: Tensor; dy: Tensor; params: Params }): Record<string, Tensor> {',
  ).replace("name: 'consumer-nchw-float32'", "name: 'consumer-typescript'");
  await writeFile(
    join(project, 'adapter.ts'),
    `type Tensor = { dtype: string; shape: number[]; data: Float32Array };\n` +
      `type Params = { stride: [number, number]; dilation: [number, number]; pads: { top: number; left: number }; groups: number };\n${typed}`,
  );
  const typescript = await run('npx', ['conformance-runner', '--impl', './adapter.ts'], project);
  t.equal(typescript.code, 0, 'npx conformance-runner --impl ./adapter.ts exits 0', { stdout: typescript.stdout.slice(-4000), stderr: typescript.stderr.slice(-4000) });
  t.match(typescript.stdout, new RegExp(`${float32Count} passed, 0 failed`), 'the TypeScript adapter passes every float32 fixture');

  // A browser: adapter whose bare import resolves from the consumer's own node_modules.
  await mkdir(join(project, 'node_modules', 'consumer-sum'), { recursive: true });
  await writeFile(join(project, 'node_modules', 'consumer-sum', 'package.json'), '{"name": "consumer-sum", "version": "1.0.0", "type": "module", "main": "index.js"}\n');
  await writeFile(join(project, 'node_modules', 'consumer-sum', 'index.js'), 'export function sum(values) { let total = 0; for (const value of values) total += value; return total; }\n');
  await writeFile(join(project, 'kernel.mjs'), BROWSER_DB_ADAPTER);
  const exact = manifest.fixtures.filter((entry) => entry.dtype === 'float32' && entry.family === 'exact').length;
  const browser = await run('npx', ['conformance-runner', '--impl', 'browser:./kernel.mjs', '--filter', 'dtype=float32,family=exact'], project);
  t.equal(browser.code, 0, 'npx conformance-runner --impl browser:./kernel.mjs exits 0', { stdout: browser.stdout.slice(-4000), stderr: browser.stderr.slice(-4000) });
  t.match(browser.stdout, new RegExp(`${exact} passed, 0 failed`), 'the browser adapter, with its bare import from the consumer, passes the float32 exact fixtures');

  // The other two entry points a consumer uses: the /fixtures export and conv2d-fixtures.
  const exported = await run(process.execPath, ['--input-type=module', '-e', `const m = await import('${PACKAGE_NAME}/fixtures'); console.log(m.manifestPath);`], project);
  t.equal(exported.stdout.trim(), join(installed, 'fixtures', 'manifest.json'), 'the /fixtures export names the installed manifest', { stderr: exported.stderr });
  const verified = await run('npx', ['conv2d-fixtures', 'verify'], project);
  t.equal(verified.code, 0, 'npx conv2d-fixtures verify exits 0', { stdout: verified.stdout, stderr: verified.stderr });
  t.match(verified.stdout, `${manifest.fixtureCount} fixtures`, 'and verifies every fixture');

  for (const [adapter, optional] of [
    ['onnxruntime', 'onnxruntime-node'],
    ['tfjs', '@tensorflow/tfjs'],
  ]) {
    const bundled = join(installed, 'dist', 'conformance', 'adapters', `${adapter}.js`);
    const missing = await run('npx', ['conformance-runner', '--impl', bundled, '--only', manifest.fixtures[0].id], project);
    t.equal(missing.code, 2, `the bundled ${adapter} adapter without ${optional} exits 2`, { stderr: missing.stderr });
    t.match(missing.stderr, `needs the package ${optional}, which is not installed`, `it names ${optional}`);
    t.match(missing.stderr, `npm i -D '${optional}@`, 'and says what to npm i');
  }
});
