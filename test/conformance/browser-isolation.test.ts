/**
 * The browser host contains a misbehaving adapter. Four runs of float32 `exact` fixtures
 * of the bundled corpus start at once, so that the two runs that wait out a deliberate
 * limit wait side by side with the others (the limits are as generous as ever):
 * - the misbehaviours: 19 fixtures, where every other one (positions 1, 3, ..., 17)
 *   misbehaves in one of nine ways and the rest are computed correctly. Each misbehaviour
 *   is an error outcome with the message the user sees; the next fixture runs on a fresh
 *   page and passes. Nothing in this run waits for a limit.
 * - a hang: a fixture whose page never answers is a timeout once --timeout has passed;
 *   the next fixture passes on a fresh page.
 * - a fresh page that never loads: after an error, the 2nd page's init() never finishes:
 *   an error for that fixture once --load-timeout has passed; the next fixture passes on
 *   the 3rd page.
 * - a page that never finishes loading at the start is E_ADAPTER_LOAD (exit 2).
 * Also: no browser found is a usage error (exit 2) saying what to install.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadManifest } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';
import type { ReportOutcome } from '../../src/report-types.js';
import { findBrowser } from '../../conformance/host/browser-host.js';
import { adapterPath, readReport, runCli, hasOutcomeLine, type CliRun } from './run-cli.js';
import { requireBrowser } from './browser-support.js';

const browser = requireBrowser(t);
const root = t.testdir();
/** Generous for a healthy fixture on a loaded machine; the hanging fixture uses it up. */
const HANG_TIMEOUT_MS = 20000;
/**
 * Page start-up limit of the runs where no page is meant to hang: Chromium's first page
 * takes ~20 s on a loaded 2-core machine.
 */
const LOAD_TIMEOUT_MS = 90000;
/**
 * The start-up limit the never-loading fresh page uses up. It is also the limit of that
 * run's healthy pages: 3 times the ~20 s of a first page on a loaded 2-core machine
 * (a fresh page after the first takes ~3 s there).
 */
const NEVER_LOADS_TIMEOUT_MS = 60000;
/** The start-up limit at the start: only Chromium's launch (a few seconds) shares it. */
const NEVER_LOADS_AT_START_TIMEOUT_MS = 30000;

const manifest = await loadManifest(bundledCorpusDir());
const ids = manifest.fixtures
  .filter((entry) => entry.family === 'exact' && entry.dtype === 'float32')
  .map((entry) => entry.id)
  .sort()
  .slice(0, 19);

/** Behaviour -> the message of its error outcome (a function of the fixture id). */
const cases: [string, (id: string) => RegExp | string][] = [
  ['throws', (id) => `conv2dBackward threw: RangeError: deliberate failure on ${id}`],
  ['rejects', () => 'conv2dBackward threw: rejected asynchronously'],
  ['unhandled-rejection', (id) => `unhandled promise rejection in the page: nobody waits for this promise while computing fixture ${id}`],
  ['crashes', (id) => `the page crashed (the renderer process ended) while computing fixture ${id}`],
  ['loses-device', (id) => new RegExp(`^the WebGPU device was lost \\(destroyed[^)]*\\) while computing fixture ${id}; conv2dBackward threw: `)],
  ['navigates', (id) => `the page navigated away from the harness to http://127.0.0.1:PORT/harness.html?navigated while computing fixture ${id}`],
  ['closes', (id) => `the adapter called window.close() while computing fixture ${id}`],
  ['wrong-shape', () => /^dx\.shape: expected \[\d+, \d+, \d+, \d+\] \(NCHW\), found \[\d+, \d+, \d+, \d+\]$/],
  ['wrong-dtype', () => `dw.dtype: expected 'float32' (the fixture's dtype), found "float64"`],
];
const plan: Record<string, string> = {};
cases.forEach(([behaviour], index) => {
  plan[ids[2 * index + 1]] = behaviour;
});

function writeEntry(name: string, planned: Record<string, string>, hangOnPage: number): string {
  const path = join(root, name);
  writeFileSync(
    path,
    `import { misbehavingAdapter } from ${JSON.stringify(adapterPath('browser/misbehaves.mjs'))};\n` +
      `export default misbehavingAdapter(${JSON.stringify(planned)}, { hangOnPage: ${hangOnPage} });\n`,
  );
  return path;
}

interface ReportedRun {
  run: CliRun;
  byId: Map<string, ReportOutcome>;
}

/**
 * Run the CLI in the browser with a --json report: the run and its outcomes by fixture id
 * (none when the run wrote no report: the test's assertions then fail saying what is missing).
 */
async function reportedRun(name: string, args: string[], env: Record<string, string> = {}): Promise<ReportedRun> {
  const jsonPath = join(root, `${name}.json`);
  const run = await runCli(['--browser', browser, ...args, '--json', jsonPath], env);
  const outcomes = existsSync(jsonPath) ? readReport(jsonPath).outcomes : [];
  return { run, byId: new Map(outcomes.map((outcome) => [outcome.id, outcome])) };
}

// All four runs start now; the tests below wait for their own.
const misbehaviours = reportedRun(
  'misbehaviours',
  ['--impl', `browser:${writeEntry('misbehaving.mjs', plan, 0)}`, '--only', ids.join(','), '--timeout', String(HANG_TIMEOUT_MS), '--load-timeout', String(LOAD_TIMEOUT_MS)],
  // A small JavaScript heap, so that the 'crashes' fixture ends its renderer quickly.
  { CONFORMANCE_BROWSER_FLAGS: '--js-flags=--max-old-space-size=128' },
);
const hangIds = ids.slice(0, 3);
const hang = reportedRun('hang', [
  '--impl',
  `browser:${writeEntry('hangs.mjs', { [hangIds[1]]: 'infinite-loop' }, 0)}`,
  '--only',
  hangIds.join(','),
  '--timeout',
  String(HANG_TIMEOUT_MS),
  '--load-timeout',
  String(LOAD_TIMEOUT_MS),
]);
const freshIds = ids.slice(0, 4);
const freshNeverLoads = reportedRun('fresh-never-loads', [
  '--impl',
  // fixture 1 throws, so fixture 2 needs the 2nd page, which never finishes loading.
  `browser:${writeEntry('fresh-never-loads.mjs', { [freshIds[1]]: 'throws' }, 2)}`,
  '--only',
  freshIds.join(','),
  '--timeout',
  String(HANG_TIMEOUT_MS),
  '--load-timeout',
  String(NEVER_LOADS_TIMEOUT_MS),
]);
const neverLoadsEntry = writeEntry('never-loads.mjs', {}, 1);
const neverLoadsAtStart = runCli([
  '--impl',
  `browser:${neverLoadsEntry}`,
  '--browser',
  browser,
  '--only',
  ids[0],
  '--load-timeout',
  String(NEVER_LOADS_AT_START_TIMEOUT_MS),
]);

t.test('each misbehaviour is an error for its fixture; the next fixture runs on a fresh page', async (t) => {
  const { run, byId } = await misbehaviours;
  t.equal(run.code, 1, 'exit 1: errors fail the run', { stderr: run.stderr });
  cases.forEach(([behaviour, expected], index) => {
    const id = ids[2 * index + 1];
    const outcome = byId.get(id);
    const want = expected(id);
    t.equal(outcome?.status, 'error', `${behaviour}: error outcome`);
    const message = (outcome?.message ?? '').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT');
    if (typeof want === 'string') t.equal(message, want, `${behaviour}: message`);
    else t.match(message, want, `${behaviour}: message`);
    t.equal(byId.get(ids[2 * index + 2])?.status, 'pass', `${behaviour}: the next fixture ran`);
  });
  const healthy = ids.filter((_, position) => position % 2 === 0);
  t.same(
    healthy.map((id) => byId.get(id)?.status),
    healthy.map(() => 'pass'),
    'every healthy fixture passed, each after a misbehaving one on a fresh page',
  );
  t.equal(run.stdout.trimEnd().split('\n').pop(), '10 passed, 0 failed, 0 skipped, 9 errors (9 errors, 0 timeouts, 0 missing)');
});

t.test('a page that never answers: a timeout after --timeout; the next fixture runs on a fresh page', async (t) => {
  const { run, byId } = await hang;
  t.equal(run.code, 1, 'exit 1: a timeout fails the run');
  t.equal(byId.get(hangIds[1])?.status, 'timeout', 'infinite-loop: timeout');
  t.ok(hasOutcomeLine(run.stdout, 'TIMEOUT', hangIds[1], `no answer within ${HANG_TIMEOUT_MS} ms`, false), 'infinite-loop: the console says so');
  t.same(
    [hangIds[0], hangIds[2]].map((id) => byId.get(id)?.status),
    ['pass', 'pass'],
    'the fixtures before and after it passed',
  );
  t.equal(run.stdout.trimEnd().split('\n').pop(), '2 passed, 0 failed, 0 skipped, 1 error (0 errors, 1 timeout, 0 missing)');
});

t.test('a fresh page that never finishes loading: an error for its fixture after --load-timeout; the next fixture runs on the page after', async (t) => {
  const { run, byId } = await freshNeverLoads;
  t.equal(run.code, 1);
  t.same(
    freshIds.map((id) => byId.get(id)?.status),
    ['pass', 'error', 'error', 'pass'],
  );
  t.equal(byId.get(freshIds[1])?.message, `conv2dBackward threw: RangeError: deliberate failure on ${freshIds[1]}`);
  t.equal(
    byId.get(freshIds[2])?.message,
    `a fresh page could not be started: the page did not finish loading (harness, adapter import and init()) within ${NEVER_LOADS_TIMEOUT_MS} ms (--load-timeout) (for fixture ${freshIds[2]})`,
  );
  t.equal(run.stdout.trimEnd().split('\n').pop(), '2 passed, 0 failed, 0 skipped, 2 errors (2 errors, 0 timeouts, 0 missing)');
});

t.test('a page that never finishes loading at the start: E_ADAPTER_LOAD, exit 2', async (t) => {
  const run = await neverLoadsAtStart;
  t.equal(run.code, 2);
  t.equal(
    run.stderr.trim(),
    `conformance-runner: cannot load adapter browser:${neverLoadsEntry} in the browser: the page did not finish loading (harness, adapter import and init()) within ${NEVER_LOADS_AT_START_TIMEOUT_MS} ms (--load-timeout)`,
  );
});

t.test('no browser: a usage error that says what to install (exit 2)', async (t) => {
  t.throws(() => findBrowser(undefined, {}, ['/nonexistent/chromium']), {
    code: 'E_USAGE',
    message:
      'browser: no Chromium or Chrome found (tried --browser, $CHROME_PATH, /nonexistent/chromium); install Chromium (Debian/Ubuntu: `apt-get install -y chromium`), or pass --browser PATH or set CHROME_PATH',
  });
  const run = await runCli(['--impl', `browser:${adapterPath('browser/misbehaves.mjs')}`, '--browser', '/nonexistent/chromium', '--only', ids[0]]);
  t.equal(run.code, 2);
  t.match(run.stderr, /--browser: \/nonexistent\/chromium is not an executable file; install Chromium \(Debian\/Ubuntu: `apt-get install -y chromium`\)/);
});
