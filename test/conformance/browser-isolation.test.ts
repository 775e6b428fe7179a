/**
 * The browser host contains a misbehaving adapter: one run of 22 float32 `exact`
 * fixtures of the bundled corpus, where every other fixture (positions 1, 3, ..., 19)
 * misbehaves in one of ten ways and the rest are computed correctly. Each misbehaviour
 * is an error or timeout outcome with the message the user sees; the next fixture
 * runs on a fresh page and passes. Position 20 needs the 11th page, whose init()
 * never finishes: an error for that fixture; position 21 passes on the 12th page.
 * Also: no browser found is a usage error (exit 2) saying what to install, and a page
 * that never finishes loading at the start is E_ADAPTER_LOAD (exit 2).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadManifest } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';
import type { ReportOutcome } from '../../src/report-types.js';
import { findBrowser } from '../../conformance/host/browser-host.js';
import { adapterPath, readReport, runCli, hasOutcomeLine } from './run-cli.js';
import { requireBrowser } from './browser-support.js';

const browser = requireBrowser(t);
const root = t.testdir();
/** Generous for a healthy fixture on a loaded machine; the hanging fixture uses it up. */
const HANG_TIMEOUT_MS = 20000;
/** Page start-up limit: Chromium's first page takes ~20 s on a loaded 2-core machine. */
const LOAD_TIMEOUT_MS = 90000;

const manifest = await loadManifest(bundledCorpusDir());
const ids = manifest.fixtures
  .filter((entry) => entry.family === 'exact' && entry.dtype === 'float32')
  .map((entry) => entry.id)
  .sort()
  .slice(0, 22);

/** Behaviour -> the message of its outcome (a function of the fixture id). */
const cases: [string, (id: string) => RegExp | string][] = [
  ['throws', (id) => `conv2dBackward threw: RangeError: deliberate failure on ${id}`],
  ['rejects', () => 'conv2dBackward threw: rejected asynchronously'],
  ['unhandled-rejection', (id) => `unhandled promise rejection in the page: nobody waits for this promise while computing fixture ${id}`],
  ['infinite-loop', () => 'timeout'],
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
const HANG_PAGE = cases.length + 1;

function writeEntry(name: string, planned: Record<string, string>, hangOnPage: number): string {
  const path = join(root, name);
  writeFileSync(
    path,
    `import { misbehavingAdapter } from ${JSON.stringify(adapterPath('browser/misbehaves.mjs'))};\n` +
      `export default misbehavingAdapter(${JSON.stringify(planned)}, { hangOnPage: ${hangOnPage} });\n`,
  );
  return path;
}

t.test('each misbehaviour is an error or timeout for its fixture; the next fixture runs on a fresh page', async (t) => {
  const entry = writeEntry('misbehaving.mjs', plan, HANG_PAGE);
  const jsonPath = join(root, 'report.json');
  const args = ['--impl', `browser:${entry}`, '--browser', browser, '--only', ids.join(','), '--timeout', String(HANG_TIMEOUT_MS), '--load-timeout', String(LOAD_TIMEOUT_MS)];
  const run = await runCli([...args, '--json', jsonPath], {
    // A small JavaScript heap, so that the 'crashes' fixture ends its renderer quickly.
    CONFORMANCE_BROWSER_FLAGS: '--js-flags=--max-old-space-size=128',
  });
  t.equal(run.code, 1, 'exit 1: errors and timeouts fail the run');
  const report = readReport(jsonPath);
  const byId = new Map<string, ReportOutcome>(report.outcomes.map((outcome) => [outcome.id, outcome]));
  cases.forEach(([behaviour, expected], index) => {
    const id = ids[2 * index + 1];
    const outcome = byId.get(id)!;
    const want = expected(id);
    if (want === 'timeout') {
      t.equal(outcome.status, 'timeout', `${behaviour}: timeout`);
      t.ok(hasOutcomeLine(run.stdout, 'TIMEOUT', id, `no answer within ${HANG_TIMEOUT_MS} ms`, false), `${behaviour}: the console says so`);
      return;
    }
    t.equal(outcome.status, 'error', `${behaviour}: error outcome`);
    const message = (outcome.message ?? '').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT');
    if (typeof want === 'string') t.equal(message, want, `${behaviour}: message`);
    else t.match(message, want, `${behaviour}: message`);
    t.equal(byId.get(ids[2 * index + 2])?.status, index === cases.length - 1 ? 'error' : 'pass', `${behaviour}: the next fixture ran`);
  });
  const neverLoaded = byId.get(ids[20])!;
  t.equal(neverLoaded.status, 'error');
  t.equal(
    neverLoaded.message,
    `a fresh page could not be started: the page did not finish loading (harness, adapter import and init()) within ${LOAD_TIMEOUT_MS} ms (--load-timeout) (for fixture ${ids[20]})`,
  );
  const healthy = ids.filter((_, position) => position % 2 === 0 && position < 20).concat(ids[21]);
  t.same(
    healthy.map((id) => byId.get(id)?.status),
    healthy.map(() => 'pass'),
    'every healthy fixture passed, each after a misbehaving one on a fresh page',
  );
  t.equal(run.stdout.trimEnd().split('\n').pop(), '11 passed, 0 failed, 0 skipped, 11 errors (10 errors, 1 timeout, 0 missing)');
});

t.test('a page that never finishes loading at the start: E_ADAPTER_LOAD, exit 2', async (t) => {
  const entry = writeEntry('never-loads.mjs', {}, 1);
  const run = await runCli(['--impl', `browser:${entry}`, '--browser', browser, '--only', ids[0], '--load-timeout', '30000']);
  t.equal(run.code, 2);
  t.equal(
    run.stderr.trim(),
    `conformance-runner: cannot load adapter browser:${entry} in the browser: the page did not finish loading (harness, adapter import and init()) within 30000 ms (--load-timeout)`,
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
