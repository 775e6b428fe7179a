/**
 * The `browser:` host end to end, through the CLI: the bundled WGSL adapter passes
 * everything it declares on a subset of the corpus (the whole corpus is a step of
 * .ci/run); the docs' example adapter passes; a deliberately wrong WGSL kernel fails
 * with exit 1; an adapter in a consumer's folder imports a package from that folder's
 * node_modules; --verbose forwards the page's console. The runs go two at a time.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadManifest } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';
import { adapterPath, readReport, REPO_ROOT, runCli } from './run-cli.js';
import { requireBrowser } from './browser-support.js';

const browser = requireBrowser(t);
const root = t.testdir();
const corpus = bundledCorpusDir();
const manifest = await loadManifest(corpus);
const WGSL_ADAPTER = join(REPO_ROOT, 'dist', 'conformance', 'adapters', 'browser', 'wgsl-gather.js');
const EXAMPLE = join(REPO_ROOT, 'conformance', 'examples', 'webgpu-db-adapter.mjs');

/** float32 `normal` fixtures and their batch sizes (x's first axis, from fixture.json). */
const normal = manifest.fixtures
  .filter((entry) => entry.family === 'normal' && entry.dtype === 'float32')
  .map((entry) => ({ id: entry.id, batch: (JSON.parse(readFileSync(join(corpus, entry.path, 'fixture.json'), 'utf8')) as { shapes: { x: number[] } }).shapes.x[0] }));

/** A consumer's folder whose adapter imports the docs' example kernel as a package of its node_modules. */
function consumerAdapter(): string {
  const consumer = join(root, 'consumer');
  const kernelPackage = join(consumer, 'node_modules', 'webgpu-db-kernel');
  mkdirSync(kernelPackage, { recursive: true });
  writeFileSync(join(kernelPackage, 'package.json'), JSON.stringify({ name: 'webgpu-db-kernel', version: '1.0.0', type: 'module', exports: './index.js' }));
  cpSync(EXAMPLE, join(kernelPackage, 'index.js'));
  const entry = join(consumer, 'adapter.mjs');
  writeFileSync(
    entry,
    "import { DB_SHADER, dbAdapter } from 'webgpu-db-kernel';\n" +
      'const adapter = dbAdapter(DB_SHADER);\n' +
      'const init = adapter.init;\n' +
      "export default { ...adapter, name: 'consumer-db', async init() { console.log('hello from the page'); await init(); } };\n",
  );
  return entry;
}

// The runs go two at a time (each mostly waits on Chromium's start-up and its software GPU;
// two lanes keep the page start-ups quick beside the other browser test file); the tests below
// wait for their own. runCli never rejects: a lane goes on after a failed run.
const wgslFilter = 'family=exact|special';
const wgslJson = join(root, 'wgsl.json');
const wgslRun = runCli(['--impl', `browser:${WGSL_ADAPTER}`, '--browser', browser, '--filter', wgslFilter, '--json', wgslJson]);
const consumerEntry = consumerAdapter();
const consumerIds = normal.slice(0, 2).map((fixture) => fixture.id);
const consumerRun = wgslRun.then(() => runCli(['--impl', `browser:${consumerEntry}`, '--browser', browser, '--only', consumerIds.join(','), '--verbose']));
const unresolvedEntry = join(root, 'unresolved.mjs');
writeFileSync(unresolvedEntry, "import 'no-such-package-here';\nexport default { name: 'x', conv2dBackward() {} };\n");
const unresolvedRun = consumerRun.then(() => runCli(['--impl', `browser:${unresolvedEntry}`, '--browser', browser, '--only', normal[0].id]));
const exampleRun = runCli(['--impl', `browser:${EXAMPLE}`, '--browser', browser, '--filter', 'family=normal,dtype=float32']);
const wrongJson = join(root, 'wrong.json');
const wrongRun = exampleRun.then(() =>
  runCli(['--impl', `browser:${adapterPath('browser/db-first-batch-only.mjs')}`, '--browser', browser, '--filter', 'family=normal,dtype=float32', '--json', wrongJson]),
);

t.test('wgsl-gather passes every float32 fixture of the exact and special families and skips the other dtypes', async (t) => {
  const selected = manifest.fixtures.filter((entry) => entry.family === 'exact' || entry.family === 'special');
  const float32 = selected.filter((entry) => entry.dtype === 'float32').length;
  const run = await wgslRun;
  t.equal(run.code, 0, 'exit 0', { stderr: run.stderr });
  const report = readReport(wgslJson);
  t.equal(report.counts.pass, float32);
  t.equal(report.counts.skipped, selected.length - float32);
  t.ok(float32 > 0 && selected.length > float32, 'the subset has float32 fixtures and others');
  t.equal(run.stdout.trimEnd().split('\n').pop(), `${float32} passed, 0 failed, ${selected.length - float32} skipped, 0 errors (0 errors, 0 timeouts, 0 missing)`);
});

t.test("the docs' example (a WGSL db kernel) passes", async (t) => {
  const run = await exampleRun;
  t.equal(run.code, 0, 'exit 0', { stderr: run.stderr });
  t.equal(run.stdout.trimEnd().split('\n').pop(), `${normal.length} passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)`);
});

t.test('a deliberately wrong WGSL kernel (db of batch 0 only) fails with exit 1 exactly where the batch is larger', async (t) => {
  const run = await wrongRun;
  t.equal(run.code, 1, 'exit 1', { stderr: run.stderr });
  const report = readReport(wrongJson);
  const failing = report.outcomes.filter((outcome) => outcome.status === 'fail').map((outcome) => outcome.id);
  const batched = normal.filter((fixture) => fixture.batch > 1).map((fixture) => fixture.id);
  t.ok(batched.length > 0 && batched.length < normal.length, 'some fixtures have one image, some several');
  t.same(failing.sort(), batched.sort(), 'every fixture with more than one image fails, the others pass');
  for (const outcome of report.outcomes.filter((item) => item.status === 'fail')) t.same(outcome.failing, ['db']);
});

t.test("an adapter in a consumer's folder imports a package from its node_modules; --verbose forwards the page's console", async (t) => {
  const run = await consumerRun;
  t.equal(run.code, 0, 'exit 0', { stderr: run.stderr });
  t.ok(run.stdout.includes('adapter consumer-db: NCHW/OIHW, dtypes float32, outputs db'), 'the bundle loaded, with its bare import');
  t.ok(run.stderr.includes('[browser log] hello from the page\n'), "the page's console reached stderr");
  t.equal(run.stdout.trimEnd().split('\n').pop(), '2 passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');
});

t.test('an adapter whose import cannot be resolved: E_ADAPTER_LOAD naming it (exit 2)', async (t) => {
  const run = await unresolvedRun;
  t.equal(run.code, 2);
  t.match(run.stderr, /cannot bundle adapter .*unresolved\.mjs for the browser \(esbuild\):\n {2}- .*unresolved\.mjs:1:7: Could not resolve "no-such-package-here"/);
});
