/**
 * The examples of docs/corpus-format.md ("The examples"), run as a user runs
 * them, so that the documentation cannot rot:
 *   conformance/examples/use-fixtures-pytest.py  (python3 -m pytest, numpy)
 *   conformance/examples/use-fixtures-node.mjs   (plain node)
 * Against the real bundled corpus each must pass every fixture the manifest lists;
 * against a copy of a small subset where one expected dx value was changed (and the
 * checksums updated, so the corpus still verifies) each must fail that fixture alone,
 * and the node example likewise where one expected y value (forward.json) was changed.
 *
 * Python: $PYTHON, else python3, with numpy and pytest. When it is missing the
 * pytest example is skipped with the reason, except under CI (CI set), where that is
 * a failure: CI must not silently stop running the documented example.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadFixtureMeta, serializeFixtureMeta } from '../../src/fixture-io.js';
import { sha256Hex } from '../../src/hash.js';
import { buildManifest, loadManifest, readManifestEntry, verifyCorpus, writeManifest } from '../../src/manifest.js';
import { readNpyHeader } from '../../src/npy.js';
import { bundledCorpusDir } from '../../src/paths.js';
import { copySubsetCorpus, type SubsetCorpus } from '../helpers/corpus-subset.js';
import { REPO_ROOT, type CliRun } from './run-cli.js';

const PYTEST_EXAMPLE = join(REPO_ROOT, 'conformance', 'examples', 'use-fixtures-pytest.py');
const NODE_EXAMPLE = join(REPO_ROOT, 'conformance', 'examples', 'use-fixtures-node.mjs');
const PYTHON = process.env.PYTHON ?? 'python3';

/** Run `command ARGS`; `env` adds to this process's environment (undefined removes a variable). */
function run(command: string, args: string[], env: Record<string, string | undefined> = {}, cwd = REPO_ROOT): Promise<CliRun> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: merged, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

/** Run the pytest example on `corpus`; no cache folder and no __pycache__ written into the checkout. */
function runPytest(corpus: string, cwd: string): Promise<CliRun> {
  return run(PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', PYTEST_EXAMPLE], { CONV2D_FIXTURES: corpus, CONV2D_FIXTURES_PER_FAMILY: undefined, PYTHONDONTWRITEBYTECODE: '1' }, cwd);
}

/** pytest's counts from its last line ("3 failed, 447 passed in 4.02s"): outcome -> count. */
function pytestCounts(stdout: string): Record<string, number> {
  const lines = stdout.trimEnd().split('\n');
  const summary = lines[lines.length - 1];
  const counts: Record<string, number> = {};
  for (const [, count, outcome] of summary.matchAll(/(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)/g)) counts[outcome] = Number(count);
  return counts;
}

/** Whether $PYTHON can import numpy and pytest; the reason when not. */
function pythonProblem(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy, pytest'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `${PYTHON} cannot be started (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} cannot import numpy and pytest: ${probe.stderr.trim().split('\n').pop() ?? ''}`;
  return undefined;
}

let root = '';
/** Every fixture of the bundled corpus, by the manifest. */
let fixtureCount = 0;
let families = 0;
/** A subset corpus whose first fixture (family `exact`) has one changed expected value, checksums updated. */
let broken: SubsetCorpus;
let brokenId = '';
/** dx[0, 0, 0, 0] of that fixture: the true value and the one written into dx.npy. */
let trueValue = 0;
let writtenValue = 0;
let dxElements = 0;

t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'examples-'));
  const manifest = await loadManifest(bundledCorpusDir());
  fixtureCount = manifest.fixtureCount;
  families = new Set(manifest.fixtures.map((entry) => entry.family)).size;

  broken = await copySubsetCorpus(join(root, 'broken'));
  brokenId = broken.ids[0];
  const folder = join(broken.dir, brokenId);
  const meta = await loadFixtureMeta(folder);
  if (meta.family !== 'exact' || meta.tolerance.rule !== 'exact') throw new Error(`${brokenId}: expected the subset's first fixture to be of the exact family, found ${meta.family}`);
  dxElements = meta.shapes.dx.reduce((product, size) => product * size, 1);

  // Change dx[0, 0, 0, 0] (float64, little endian, first element after the header). In the
  // exact family every value is an integer no larger than 2^p in magnitude (p: the dtype's
  // precision), so one step towards zero (or to 1 from 0) is another representable integer:
  // a correct implementation computes the old value exactly and must now fail that element.
  const dxPath = join(folder, 'dx.npy');
  const bytes = await readFile(dxPath);
  const header = readNpyHeader(bytes, dxPath);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  trueValue = view.getFloat64(header.dataOffset, true);
  writtenValue = trueValue > 0 ? trueValue - 1 : trueValue + 1;
  view.setFloat64(header.dataOffset, writtenValue, true);
  await writeFile(dxPath, bytes);

  // Keep the corpus consistent: fixture.json's sha256 of dx.npy, then the manifest (entries and digest).
  meta.files.dx.sha256 = sha256Hex(bytes);
  await writeFile(join(folder, 'fixture.json'), serializeFixtureMeta(meta));
  const entries = await Promise.all(broken.ids.map((id) => readManifestEntry(join(broken.dir, id))));
  const rebuilt = buildManifest({ corpusVersion: broken.manifest.corpusVersion, generator: broken.manifest.generator, entries });
  await writeManifest(broken.dir, rebuilt);
  broken = { ...broken, manifest: rebuilt };
});
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test('the changed subset is a consistent corpus: only the value is wrong', async (t) => {
  t.same(await verifyCorpus(broken.dir, { deep: true }), []);
  t.not(writtenValue, trueValue);
  t.ok(Number.isInteger(writtenValue) && Number.isInteger(trueValue), 'both integers');
});

/** Python's repr of an integer-valued float: "-3.0". */
function pythonFloat(value: number): string {
  return value.toFixed(1);
}

const missingPython = pythonProblem();

if (missingPython !== undefined && process.env.CI) {
  t.test('the pytest example runs under CI', async (t) => {
    t.fail(`CI is set but the pytest example cannot run: ${missingPython}. Install numpy and pytest (.ci/run does) or set PYTHON.`);
  });
} else {
  const skip = missingPython === undefined ? false : `${missingPython} (set PYTHON to one that can; under CI this is a failure)`;

  t.test('pytest example: every fixture of the bundled corpus passes', { skip }, async (t) => {
    const result = await runPytest(bundledCorpusDir(), root);
    if (!t.equal(result.code, 0, 'pytest exit status 0')) t.comment(result.stdout.slice(-4000) + result.stderr);
    const counts = pytestCounts(result.stdout);
    t.same(counts.passed, fixtureCount, `"${fixtureCount} passed" (manifest fixtureCount)`);
    t.same(Object.keys(counts).filter((outcome) => outcome !== 'passed' && counts[outcome] > 0), [], 'nothing failed, skipped or errored');
  });

  t.test('pytest example: a changed expected value fails that fixture alone', { skip }, async (t) => {
    const result = await runPytest(broken.dir, root);
    t.equal(result.code, 1, 'pytest exit status 1 (tests failed)');
    t.same(pytestCounts(result.stdout), { failed: 1, passed: broken.ids.length - 1 });
    t.match(result.stdout, new RegExp(`^FAILED \\S*use-fixtures-pytest\\.py::test_conv2d_backward\\[${brokenId}\\]`, 'm'));
    t.match(result.stdout, `dx: 1 of ${dxElements} elements fail (exact rule); first at (0, 0, 0, 0)`);
    t.match(result.stdout, `expected ${pythonFloat(writtenValue)}`);
  });
}

t.test('node example: every fixture of the bundled corpus passes', async (t) => {
  // No argument: the example finds ../../fixtures from its own folder, the bundled corpus.
  const result = await run(process.execPath, [NODE_EXAMPLE], { CONV2D_FIXTURES: undefined, CONV2D_FIXTURES_PER_FAMILY: undefined });
  if (!t.equal(result.code, 0, 'exit status 0')) t.comment(result.stdout.slice(-4000) + result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  t.equal(lines.length, 1, 'only the summary line: no FAIL line');
  const summary = /^(\d+) of (\d+) fixtures passed \((\d+) families, corpus (\S+) at (.+)\)$/.exec(lines[0]);
  if (!t.ok(summary, lines[0]) || summary === null) return;
  t.equal(Number(summary[1]), fixtureCount, 'passed = manifest fixtureCount');
  t.equal(Number(summary[2]), fixtureCount, 'selected = manifest fixtureCount');
  t.equal(Number(summary[3]), families);
  t.equal(summary[5], bundledCorpusDir());
});

t.test('node example: a changed expected value fails that fixture alone', async (t) => {
  const result = await run(process.execPath, [NODE_EXAMPLE, broken.dir], { CONV2D_FIXTURES_PER_FAMILY: undefined });
  t.equal(result.code, 1);
  t.match(result.stdout, `FAIL ${brokenId}\n  dx: 1 of ${dxElements} elements fail (exact); first at flat index 0: got ${trueValue}, expected ${writtenValue}, bound `);
  t.equal((result.stdout.match(/^FAIL /gm) ?? []).length, 1, 'one failing fixture');
  t.match(result.stdout, `${broken.ids.length - 1} of ${broken.ids.length} fixtures passed`);
});

t.test('node example: a changed expected y (forward.json, corpus 1.2.0) fails that fixture alone', async (t) => {
  const changed = await copySubsetCorpus(join(root, 'broken-y'));
  const id = changed.ids[0];
  const folder = join(changed.dir, id);
  const meta = await loadFixtureMeta(folder);
  const forwardPath = join(folder, 'forward.json');
  const forward = JSON.parse(await readFile(forwardPath, 'utf8'));
  // The subset's first fixture is of the exact family with small integer x and w: y's own rule is exact too,
  // and y[0] +- 1 is another representable integer, which a correct forward cannot produce.
  t.equal(forward.tolerance.rule, 'exact', `${id}: y is judged exactly`);
  const yPath = join(folder, 'y.npy');
  const bytes = await readFile(yPath);
  const header = readNpyHeader(bytes, yPath);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const yTrue = view.getFloat64(header.dataOffset, true);
  const yWritten = yTrue > 0 ? yTrue - 1 : yTrue + 1;
  view.setFloat64(header.dataOffset, yWritten, true);
  await writeFile(yPath, bytes);
  forward.files.y.sha256 = sha256Hex(bytes);
  await writeFile(forwardPath, `${JSON.stringify(forward, null, 2)}\n`);
  const entries = await Promise.all(changed.ids.map((other) => readManifestEntry(join(changed.dir, other))));
  await writeManifest(changed.dir, buildManifest({ corpusVersion: changed.manifest.corpusVersion, generator: changed.manifest.generator, entries }));
  t.same(await verifyCorpus(changed.dir, { deep: true }), [], 'a consistent corpus: only the value is wrong');

  const result = await run(process.execPath, [NODE_EXAMPLE, changed.dir], { CONV2D_FIXTURES_PER_FAMILY: undefined });
  t.equal(result.code, 1);
  const yElements = meta.shapes.dy.reduce((product, size) => product * size, 1);
  t.match(result.stdout, `FAIL ${id}\n  y: 1 of ${yElements} elements fail (exact); first at flat index 0: got ${yTrue}, expected ${yWritten}, bound `);
  t.equal((result.stdout.match(/^FAIL /gm) ?? []).length, 1, 'one failing fixture');
});

t.test('node example: CONV2D_FIXTURES and CONV2D_FIXTURES_PER_FAMILY select the corpus and the fixtures', async (t) => {
  const result = await run(process.execPath, [NODE_EXAMPLE], { CONV2D_FIXTURES: broken.dir, CONV2D_FIXTURES_PER_FAMILY: '1' });
  // The subset holds the first fixture (by id) of the exact, normal, special and zeros families
  // and one more float16 fixture; float16 fixtures are all of the exact or normal family, so
  // one per family drops it. The changed fixture is the first of its family: selected, failing.
  const perFamily = new Set(broken.manifest.fixtures.map((entry) => entry.family)).size;
  t.ok(perFamily < broken.ids.length, `the selection drops a fixture (${perFamily} families, ${broken.ids.length} fixtures)`);
  t.equal(result.code, 1);
  t.match(result.stdout, `FAIL ${brokenId}\n`);
  t.match(result.stdout, `${perFamily - 1} of ${perFamily} fixtures passed (${perFamily} families, corpus 1.0.0-subset at ${broken.dir})`);
});
