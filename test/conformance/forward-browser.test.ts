/**
 * The adapter's forward in a `browser:` page, through the CLI: forward jobs answered by the
 * page harness, y scored, --gradcheck run on a few fuzz cases (its 13 forward calls per case
 * travel like backward jobs); a forward off by one fails with y named.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { ReportOutcome } from '../../src/report-types.js';
import { requireBrowser } from './browser-support.js';
import { adapterPath, runCli } from './run-cli.js';

const browser = requireBrowser(t);

t.test('a correct pair in the page: y scored, every gradcheck passes in float64', async (t) => {
  const json = join(t.testdir(), 'report.json');
  const run = await runCli(['--impl', `browser:${adapterPath('forward-good.mjs')}`, '--browser', browser, '--fuzz', '4', '--seed', '5', '--gradcheck', '--json', json]);
  t.equal(run.code, 0, 'exit 0');
  const outcomes = (JSON.parse(readFileSync(json, 'utf8')) as { outcomes: ReportOutcome[] }).outcomes;
  t.equal(outcomes.length, 4);
  t.ok(outcomes.every((outcome) => outcome.outputs?.some((metrics) => metrics.output === 'y' && metrics.failingElements === 0)), 'y scored and within its bound');
  t.ok(outcomes.every((outcome) => outcome.gradcheck?.status === 'pass' && outcome.gradcheck.dtype === 'float64'), 'every gradcheck passes');
});

t.test('a forward off by one in the page fails on y', async (t) => {
  const run = await runCli(['--impl', `browser:${adapterPath('forward-y-off.mjs')}`, '--browser', browser, '--fuzz', '2', '--seed', '5', '--max-failures', '1']);
  t.equal(run.code, 1, 'exit 1');
  t.match(run.stdout, /^FAIL .* y: /m, 'y on the FAIL line');
});

t.test('the page computes one request at a time: a fixture forward comes after its backward has answered, and before the next backward', async (t) => {
  const json = join(t.testdir(), 'report.json');
  // 9 float32 fixtures of several families and geometries.
  const run = await runCli(['--impl', `browser:${adapterPath('one-call-at-a-time.mjs')}`, '--browser', browser, '--filter', 'dtype=float32', '--shard', '1/40', '--json', json]);
  t.equal(run.code, 0, 'exit 0: no call started while another was running', { stdout: run.stdout.slice(-3000) });
  const outcomes = (JSON.parse(readFileSync(json, 'utf8')) as { outcomes: ReportOutcome[] }).outcomes;
  const withY = outcomes.filter((outcome) => outcome.outputs?.some((metrics) => metrics.output === 'y'));
  t.ok(withY.length >= 5, `y scored on ${withY.length} of ${outcomes.length} fixtures`);
});
