/**
 * Adapter misbehaviour is contained: each test adapter misbehaves only on
 * plain-normal-f32 (MISBEHAVE_ON), which sorts 5th of the 7 fixtures; the runner
 * reports it as an error / timeout / failure with the message the user sees,
 * starts a fresh process, and the fixtures after it still pass. Nothing the
 * adapter prints or how it exits can make the run pass.
 * The error cases (an error outcome each) are in isolation-errors.test.ts.
 */
import t from 'tap';
import { HANG_TIMEOUT_MS, misbehaviour, othersPassed, TARGET } from './isolation-helpers.js';
import { adapterPath, runCli, hasOutcomeLine } from './run-cli.js';

const { corpus, run: runMisbehaving } = await misbehaviour(t.testdir());

t.test('an adapter that prints a passing summary and exits 0 cannot make the run pass', async (t) => {
  const { run } = await runMisbehaving('exits-0.mjs');
  t.equal(run.code, 1);
  t.notMatch(run.stdout, /6 passed, 0 failed, 0 skipped, 0 errors/, "the adapter's fake line never reaches the runner's stdout");
  const every = await runCli(['--impl', adapterPath('exits-0.mjs'), '--fixtures', corpus.dir], { MISBEHAVE_ON: '' });
  t.equal(every.code, 1, 'exiting 0 on every fixture: all errors, exit 1');
  t.equal(every.stdout.trimEnd().split('\n').pop(), '0 passed, 0 failed, 1 skipped, 6 errors (6 errors, 0 timeouts, 0 missing)');
});

for (const file of ['hangs-sync.mjs', 'hangs-promise.mjs']) {
  t.test(`${file}: timeout outcome, the process is killed and replaced`, async (t) => {
    const { run, report, target } = await runMisbehaving(file, ['--timeout', String(HANG_TIMEOUT_MS)]);
    t.equal(run.code, 1);
    t.equal(target.status, 'timeout');
    t.equal(target.timeoutMs, HANG_TIMEOUT_MS);
    othersPassed(t, report);
    t.ok(hasOutcomeLine(run.stdout, 'TIMEOUT', TARGET, `no answer within ${HANG_TIMEOUT_MS} ms (the adapter's process was killed)`));
    t.match(run.stdout, new RegExp(`repro: (?:npx )?conformance-runner .* --timeout ${HANG_TIMEOUT_MS} --only ${TARGET}`));
    t.equal(run.stdout.trimEnd().split('\n').pop(), '5 passed, 0 failed, 1 skipped, 1 error (0 errors, 1 timeout, 0 missing)');
  });
}

t.test('returns-nan.mjs: NaN where a finite value is expected is a scoring failure', async (t) => {
  const { run, report, target } = await runMisbehaving('returns-nan.mjs');
  t.equal(run.code, 1);
  t.equal(target.status, 'fail');
  t.same(target.failing, ['dx']);
  const dx = target.outputs!.find((metrics) => metrics.output === 'dx')!;
  t.equal(dx.failingElements, 1);
  t.equal(dx.worst?.got, 'NaN', 'NaN is written as the string "NaN" in JSON');
  t.equal(dx.maxErrorInBounds, 'Infinity');
  othersPassed(t, report);
  t.match(run.stdout, new RegExp(`FAIL {4}${TARGET} \\([^)]*\\) {2}dx: a non-finite value where a finite one is expected at n=0 c=0 h=0 w=0: expected -?[0-9.e-]+, got NaN \\(1 of 150 elements fail\\)`));
});

t.test('writes-inputs.mjs: writing into inputs is a note, not a failure', async (t) => {
  const { run, target } = await runMisbehaving('writes-inputs.mjs');
  t.equal(run.code, 0);
  t.equal(target.status, 'pass');
  t.same(target.notes, ['the adapter wrote into its input dy (it got a fresh copy, so scoring is unaffected; callers may not expect inputs to change)']);
  t.match(run.stdout, /Notes:\n {2}1 fixture: the adapter wrote into its input dy/);
});

t.test('missing-output.mjs: a declared output missing from the result is an error on every fixture', async (t) => {
  const { run, report, target } = await runMisbehaving('missing-output.mjs');
  t.equal(run.code, 1);
  t.equal(target.message, 'db: missing from the result (the adapter declares outputs dx, dw, db); found keys ["dx","dw"]');
  t.equal(report.counts.error, 6);
});

t.test('dx-only.mjs: outputs not declared are not scored, and each outcome says so', async (t) => {
  const { run, report, target } = await runMisbehaving('dx-only.mjs');
  t.equal(run.code, 0);
  t.same(
    target.outputs!.map((metrics) => metrics.output),
    ['dx'],
  );
  t.same(target.notes, ['dw, db not scored: the adapter does not declare them in outputs']);
  t.equal(report.adapter.outputs.join(), 'dx');
});

t.test('supports: a function skips with its reason; flags skip with the feature', async (t) => {
  const fn = await runMisbehaving('supports-function.mjs');
  t.equal(fn.run.code, 0);
  const grouped = fn.report.outcomes.find((outcome) => outcome.id === 'grouped-normal-f64')!;
  t.equal(grouped.status, 'skipped');
  t.equal(grouped.reason, 'unsupported: groups=2 not implemented');
  t.equal(fn.report.adapter.supports, 'function');
  const flags = await runMisbehaving('support-flags.mjs');
  t.equal(flags.run.code, 0);
  t.same(
    flags.report.outcomes.filter((outcome) => outcome.status === 'skipped').map((outcome) => `${outcome.id}: ${outcome.reason}`),
    [
      'dilated-exact-f32: unsupported: dilation',
      'plain-normal-f16: unsupported: dtype float16 (the adapter declares float32, float64)',
      'wide-grouped-dilated-f32: unsupported: dilation',
    ],
  );
});
