/**
 * --fuzz through the built CLI, on each host kind that computes: a module adapter
 * (the header with the seed, the shrunk case and its --fuzz-replay repro, the
 * JSON report, --save-failures replayed by --fixtures), a `cmd:` program (the pure
 * Python test adapter, told to be wrong on fuzz cases), a `browser:` adapter (a
 * WGSL db kernel that sums batch 0 only; skipped without Chromium outside CI), and
 * the usage errors (exit 2).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { findBrowser } from '../../conformance/host/browser-host.js';
import { PYTHON_ADAPTER, REPO_ROOT, adapterPath, runCli } from './run-cli.js';
import { PYTHON, pythonSkipReason } from '../helpers/python.js';

const buggy = join(REPO_ROOT, 'dist', 'conformance', 'self-test', 'implementations', 'batch-remainder-dropped.js');
const naive = join(REPO_ROOT, 'dist', 'conformance', 'adapters', 'naive.js');

/** The argument of --fuzz-replay in a printed repro line (single-quoted by shellQuote). */
function replayArgument(stdout: string): string | undefined {
  return /--fuzz-replay '([^']+)'/.exec(stdout)?.[1];
}

t.test('a module adapter: found, shrunk, printed with its repro, saved, reported', async (t) => {
  const dir = t.testdir();
  const json = join(dir, 'report.json');
  const saved = join(dir, 'failures');
  const run = await runCli(['--impl', buggy, '--fuzz', '300', '--seed', '1', '--max-failures', '1', '--save-failures', saved, '--json', json]);
  t.equal(run.code, 1, 'exit 1: a case failed');
  t.match(run.stdout, /^fuzz: 300 cases from seed 1 \(the same cases again: --fuzz 300 --seed 1\)/m, 'the seed in the header');
  t.match(run.stdout, /shrunk \(\d+ steps, \d+ adapter runs; \d+ -> 5 MACs, fail\): x=5x1x1x1 filter=1x1x1 /, 'the shrunk case: 5 images, the rest 1');
  const replay = replayArgument(run.stdout);
  t.ok(replay, 'a --fuzz-replay repro is printed');
  const report = JSON.parse(readFileSync(json, 'utf8'));
  t.equal(report.fuzz.seed, 1, 'the seed in the JSON report');
  t.equal(report.fuzz.failures[0].shrunk.case, replay, 'the report has the printed case');
  const again = await runCli(['--impl', buggy, '--fuzz-replay', replay!]);
  t.equal(again.code, 1, 'the repro fails again');
  const fixtures = await runCli(['--impl', buggy, '--fixtures', saved]);
  t.equal(fixtures.code, 1, 'the saved fixture fails with --fixtures');
  t.match(fixtures.stdout, /0 passed, 1 failed/);
  const correct = await runCli(['--impl', naive, '--fuzz', '8', '--seed', '2']);
  t.equal(correct.code, 0, 'a correct adapter passes');
  t.match(correct.stdout, /fuzz: 8 of 8 cases run from seed 2; cases digest [0-9a-f]{12}/);
});

t.test('a cmd: program', { skip: pythonSkipReason(['json']) }, async (t) => {
  const run = await runCli(['--impl', `cmd:${PYTHON} ${PYTHON_ADAPTER} --wrong-on fuzz`, '--fuzz', '20', '--seed', '3', '--max-failures', '1']);
  t.equal(run.code, 1, 'dw[0] + 1 on every fuzz case: found');
  t.match(run.stdout, /shrunk .*: x=1x1x1x1 filter=1x1x1 /, 'shrunk to one element');
});

t.test('a browser: adapter', async (t) => {
  try {
    findBrowser(undefined);
  } catch {
    if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') t.fail('CI has no browser for the browser tests');
    else t.pass('skipped: no Chromium on this machine');
    return;
  }
  const run = await runCli(['--impl', `browser:${adapterPath('browser/db-first-batch-only.mjs')}`, '--fuzz', '40', '--seed', '1', '--max-failures', '1']);
  t.equal(run.code, 1, 'db over batch 0 only: found');
  t.match(run.stdout, /shrunk .*: x=2x1x1x1 /, 'shrunk to two images of one element');
});

t.test('usage errors exit 2 with what was expected', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--impl', naive, '--seed', '3'], /--seed: only with --fuzz N or --fuzz-replay CASE/],
    [['--impl', naive, '--fuzz', '3', '--fuzz-replay', 'x=1x1x1x1'], /--fuzz and --fuzz-replay: expected one of them, found both/],
    [['--impl', 'replay:somewhere', '--fuzz', '3'], /a replay folder holds outputs computed for the corpus fixtures only/],
    [['--impl', naive, '--fuzz', '0'], /--fuzz/],
    [['--impl', naive, '--fuzz', '3', '--fuzz-time', 'soon'], /--fuzz-time: expected a positive number of seconds, found 'soon'/],
    [['--impl', naive, '--fuzz-replay', 'x=1x1x1x1 filter=1x1x1 groups=1 stride=1x1 dilation=1x1 padding=VALID dtype=int8 family=normal seed=1 dy-kept=all'], /dtype: expected one of/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, message);
  }
});
