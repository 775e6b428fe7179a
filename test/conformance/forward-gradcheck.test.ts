/**
 * The adapter's optional forward through the built CLI (module adapters): y scored on fuzz
 * cases (the corpus gains y in 1.2.0), and --gradcheck on a corpus subset and on fuzz cases:
 * a correct pair passes every check; a backward that ignores the bias fails the identities;
 * a forward that adds a constant fails the identities but no difference; the backward of
 * the 180°-rotated kernel fails differences; no forward is a usage error.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ReportOutcome } from '../../src/report-types.js';
import type { GradcheckCheck } from '../../src/types.js';
import { REPO_ROOT, adapterPath, runCli } from './run-cli.js';
import { PYTHON, pythonSkipReason } from '../helpers/python.js';

const naive = join(REPO_ROOT, 'dist', 'conformance', 'adapters', 'naive.js');
/** A corpus subset of every family and several geometries: 18 float32 fixtures. */
const SUBSET = ['--filter', 'dtype=float32', '--shard', '1/20'];

async function reportOf(t: { testdir(): string }, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; outcomes: ReportOutcome[] }> {
  const json = join(t.testdir(), 'report.json');
  const run = await runCli([...args, '--json', json], env);
  const report = JSON.parse(readFileSync(json, 'utf8')) as { outcomes: ReportOutcome[] };
  return { code: run.code, stdout: run.stdout, outcomes: report.outcomes };
}

function checksOf(outcomes: ReportOutcome[]): GradcheckCheck[] {
  return outcomes.flatMap((outcome) => outcome.gradcheck?.checks ?? []);
}

function statusesOf(checks: GradcheckCheck[], prefix: string): Set<string> {
  return new Set(checks.filter((check) => check.name.startsWith(prefix)).map((check) => check.status));
}

t.test('the naive adapter and its oracle forward pass --gradcheck on a corpus subset and on --fuzz 20', async (t) => {
  const corpus = await reportOf(t, ['--impl', naive, ...SUBSET, '--gradcheck']);
  t.equal(corpus.code, 0, 'exit 0');
  const checks = checksOf(corpus.outcomes);
  t.ok(checks.filter((check) => check.status === 'pass').length >= 8 * 10, 'adjoint identities and differences checked on most fixtures');
  t.same(statusesOf(checks, '').has('fail'), false, 'no check fails');
  t.ok(corpus.outcomes.every((outcome) => outcome.gradcheck?.dtype === 'float32'), 'in float32: naive does not declare float64');
  t.ok(corpus.outcomes.every((outcome) => outcome.outputs?.some((metrics) => metrics.output === 'y' && metrics.failingElements === 0)), 'y scored on every corpus fixture (corpus 1.2.0) and within its bound');
  const fuzz = await reportOf(t, ['--impl', naive, '--fuzz', '20', '--seed', '11', '--gradcheck']);
  t.equal(fuzz.code, 0, 'exit 0 on 20 fuzz cases');
  t.ok(fuzz.outcomes.every((outcome) => outcome.outputs?.some((metrics) => metrics.output === 'y')), 'y scored on every fuzz case');
});

t.test('a correct NHWC/HWIO pair that declares float64: checked in float64, y scored and passing', async (t) => {
  const fuzz = await reportOf(t, ['--impl', adapterPath('forward-good.mjs'), '--fuzz', '10', '--seed', '5', '--gradcheck']);
  t.equal(fuzz.code, 0, 'exit 0');
  t.ok(fuzz.outcomes.every((outcome) => outcome.gradcheck?.dtype === 'float64'), 'every check in float64');
  t.ok(fuzz.outcomes.every((outcome) => outcome.outputs?.find((metrics) => metrics.output === 'y')?.failingElements === 0), 'y within its bound');
});

t.test('a backward that ignores the bias its forward adds fails both identities, not the differences', async (t) => {
  const run = await reportOf(t, ['--impl', adapterPath('forward-bias-ignored.mjs'), ...SUBSET, '--gradcheck']);
  t.equal(run.code, 1, 'exit 1');
  const checks = checksOf(run.outcomes);
  // db = 0 against a bias of k/8 (k in ±1..±8) on each channel: <b, db> misses sum_o b_o * sum(dy_o).
  t.ok(run.outcomes.filter((outcome) => outcome.failing?.includes('gradcheck')).length >= 10, 'most fixtures fail the gradcheck');
  t.notOk(statusesOf(checks, 'difference-').has('fail'), 'dx and dw are right: no difference fails (special-value fixtures are skipped)');
  t.match(run.stdout, /gradcheck \(float32\) adjoint-x: \|<y,dy> - \(<x,dx> \+ <b,db>\)\| = \S+ > bound \S+/, 'the FAIL line names the identity, the difference and the bound');
  t.match(run.stdout, /repro: .* --gradcheck --only /, 'the repro line keeps --gradcheck');
});

t.test('a forward that adds a constant fails the identities but no difference', async (t) => {
  const run = await reportOf(t, ['--impl', adapterPath('forward-adds-constant.mjs'), ...SUBSET, '--gradcheck']);
  t.equal(run.code, 1, 'exit 1');
  const checks = checksOf(run.outcomes);
  t.ok(statusesOf(checks, 'adjoint-').has('fail'), 'identities fail (by sum(dy), where dy does not sum to 0)');
  t.notOk(statusesOf(checks, 'difference-').has('fail'), 'the constant cancels in every central difference');
  t.ok(run.outcomes.every((outcome) => (outcome.failing ?? []).every((name) => name === 'gradcheck')), 'only the gradcheck fails: the gradients are right');
});

t.test('the backward of the 180°-rotated kernel fails the differences', async (t) => {
  const run = await reportOf(t, ['--impl', adapterPath('forward-rotated-kernel.mjs'), ...SUBSET, '--gradcheck']);
  t.equal(run.code, 1, 'exit 1');
  t.ok(statusesOf(checksOf(run.outcomes), 'difference-').has('fail'), 'central differences of its own forward disagree with dx, dw');
  const pointwise = run.outcomes.filter((outcome) => outcome.id.startsWith('pointwise-1x1'));
  t.ok(pointwise.length > 0 && pointwise.every((outcome) => outcome.gradcheck?.status === 'pass'), 'a 1x1 kernel is its own rotation: it passes');
});

t.test('y is scored: a forward off by one fails with y named on the FAIL line, on fuzz cases and corpus fixtures', async (t) => {
  const run = await runCli(['--impl', adapterPath('forward-y-off.mjs'), '--fuzz', '3', '--seed', '5', '--max-failures', '1']);
  t.equal(run.code, 1, 'exit 1');
  t.match(run.stdout, /^FAIL .* y: .*at n=0 c=0 h=0 w=0/m, 'y and its worst element on the FAIL line');
  const corpus = await reportOf(t, ['--impl', adapterPath('forward-y-off.mjs'), '--only', 'basic-3x3-pad1-normal-f32']);
  t.equal(corpus.code, 1, 'exit 1 on a corpus fixture');
  t.same(corpus.outcomes[0].failing, ['y'], 'only y fails: the gradients are right');
});

t.test('--gradcheck without conv2dForward is a usage error', async (t) => {
  const run = await runCli(['--impl', adapterPath('good-nchw.mjs'), '--only', 'basic-3x3-pad1-cancel-f32', '--gradcheck']);
  t.equal(run.code, 2, 'exit 2');
  t.match(run.stderr, /--gradcheck needs conv2dForward: the adapter reference-nchw exports no conv2dForward function/);
});

t.test('a cmd: program (protocol 1.2, the numpy example): forward requests answered, y scored, --gradcheck in float64', { skip: pythonSkipReason(['json', 'numpy']) }, async (t) => {
  const impl = `cmd:${PYTHON} ${join(REPO_ROOT, 'conformance', 'examples', 'python-adapter.py')}`;
  const fuzz = await reportOf(t, ['--impl', impl, '--fuzz', '5', '--seed', '3', '--gradcheck']);
  t.equal(fuzz.code, 0, 'exit 0');
  t.ok(fuzz.outcomes.every((outcome) => outcome.outputs?.some((metrics) => metrics.output === 'y' && metrics.failingElements === 0)), 'y scored and within its bound');
  t.ok(fuzz.outcomes.every((outcome) => outcome.gradcheck?.status === 'pass' && outcome.gradcheck.dtype === 'float64'), 'every gradcheck passes, in float64');
});

t.test('a misbehaving forward is an error or timeout outcome that names it; the next fixture gets a fresh process', async (t) => {
  const only = ['--only', 'basic-3x3-pad1-cancel-f32,dilation-2-exact-f32', '--gradcheck'];
  const cases: [string, number, RegExp][] = [
    ['throw', 1, /conv2dForward: conv2dForward threw: RangeError: no forward today/],
    ['shape', 1, /conv2dForward: y\.shape: expected \[2, 4, 7, \d+\] \(NCHW\), found \[2, 4, 7, \d+\]/],
    ['dtype', 1, /conv2dForward: y\.dtype: expected 'float32' \(the fixture's dtype\), found "float64"/],
    ['exit', 1, /conv2dForward: the adapter called process\.exit\(3\)/],
  ];
  for (const [how, code, message] of cases) {
    const run = await runCli(['--impl', adapterPath('forward-misbehaves.mjs'), ...only], { FORWARD_MISBEHAVES: how });
    t.equal(run.code, code, `${how}: exit ${code}`);
    t.match(run.stdout, message, `${how}: the message`);
    t.match(run.stdout, /0 passed, 0 failed, 0 skipped, 2 errors/, `${how}: both fixtures are errors (the second one ran in a fresh process when the first ended it)`);
  }
  // A forward that never answers: the fixture's --timeout applies (generous: only the hang reaches it).
  const hang = await runCli(['--impl', adapterPath('forward-misbehaves.mjs'), '--only', 'basic-3x3-pad1-cancel-f32', '--gradcheck', '--timeout', '3000'], { FORWARD_MISBEHAVES: 'hang' });
  t.equal(hang.code, 1, 'hang: exit 1');
  t.match(hang.stdout, /\(0 errors, 1 timeout, 0 missing\)/, 'hang: a timeout outcome');
});

t.test('a cmd: handshake with "forward": true on protocol 1.1 is an adapter-load error', async (t) => {
  const run = await runCli(['--impl', `cmd:${process.execPath} ${adapterPath('cmd-forward-old-protocol.mjs')}`, '--only', 'basic-3x3-pad1-cancel-f32']);
  t.equal(run.code, 2, 'exit 2');
  t.match(run.stderr, /handshake "forward": true needs "protocol": "conv2d-backward-conformance\/1\.2" \(forward requests are new in 1\.2\), found "conv2d-backward-conformance\/1\.1"/);
});

t.test('--fuzz --gradcheck: a gradcheck failure is shrunk, its repro keeps --gradcheck and fails again', async (t) => {
  const impl = adapterPath('forward-adds-constant.mjs');
  const run = await runCli(['--impl', impl, '--fuzz', '10', '--seed', '4', '--gradcheck', '--max-failures', '1']);
  t.equal(run.code, 1, 'exit 1');
  t.match(run.stdout, /^FAIL .* gradcheck \(float32\) adjoint-x: /m, 'the identity on the FAIL line');
  const replay = /--gradcheck --fuzz-replay '([^']+)'/.exec(run.stdout)?.[1];
  t.ok(replay, 'the repro line keeps --gradcheck');
  const again = await runCli(['--impl', impl, '--gradcheck', '--fuzz-replay', replay!]);
  t.equal(again.code, 1, 'the replayed case fails again');
  t.match(again.stdout, /gradcheck \(float32\) adjoint-x: /);
});

t.test("the module host asks for a fixture's y right after its backward: the adapter gets each forward next to its backward, not after the backwards queued behind it", async (t) => {
  const log = join(mkdtempSync(join(tmpdir(), 'call-order-')), 'calls.txt');
  const run = await reportOf(t, ['--impl', adapterPath('forward-call-order.mjs'), ...SUBSET], { CALL_ORDER_LOG: log });
  t.equal(run.code, 0, 'the run passes', { stdout: run.stdout });
  const calls = readFileSync(log, 'utf8').trimEnd().split('\n');
  const ran = run.outcomes.filter((outcome) => outcome.status !== 'skipped');
  t.ok(ran.length >= 10, `${ran.length} fixtures ran`);
  // The host keeps up to 3 fixtures queued in the adapter's process: before, the order was
  // backward 1, 2, 3, forward 1, backward 4, forward 2, ... (a round trip per forward).
  // A fixture whose y has no bound is not asked for y (its notes say so).
  const expected = ran.flatMap((outcome) =>
    (outcome.notes ?? []).some((note) => note.startsWith('y not scored')) ? [`backward ${outcome.id}`] : [`backward ${outcome.id}`, `forward ${outcome.id}`],
  );
  t.ok(expected.filter((call) => call.startsWith('forward')).length >= 10, 'most fixtures ask for y');
  t.same(calls, expected, 'backward 1, forward 1, backward 2, forward 2, ...');
});
