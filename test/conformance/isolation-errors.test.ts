/**
 * Adapter misbehaviour that is an error outcome (throws, wrong results, exits,
 * signals): the runner reports it with the message the user sees, starts a
 * fresh process, and the fixtures after it still pass (see isolation.test.ts).
 */
import t from 'tap';
import { misbehaviour, othersPassed, TARGET } from './isolation-helpers.js';
import { hasOutcomeLine } from './run-cli.js';

const { run: runMisbehaving } = await misbehaviour(t.testdir());

const errorCases: [string, string][] = [
  ['throws.mjs', `conv2dBackward threw: RangeError: deliberate failure on ${TARGET}`],
  ['rejects.mjs', 'conv2dBackward threw: rejected asynchronously'],
  ['wrong-shape.mjs', 'dx.shape: expected [2, 3, 5, 5] (NCHW), found [5, 5, 3, 2]'],
  ['wrong-dtype.mjs', `dw.dtype: expected 'float32' (the fixture's dtype), found "float64"`],
  ['wrong-array-type.mjs', 'db.data: expected a Float32Array, found an Array of 4 elements'],
  ['exits-0.mjs', `the adapter called process.exit(0) while computing fixture ${TARGET}`],
  ['exits-1.mjs', `the adapter called process.exit(1) while computing fixture ${TARGET}`],
  ['aborts.mjs', `the adapter's process was killed by signal SIGABRT while computing fixture ${TARGET}`],
  ['kills-itself.mjs', `the adapter's process was killed by signal SIGKILL while computing fixture ${TARGET}`],
  ['uncaught-later.mjs', `uncaught exception in the adapter's process: TypeError: thrown from a timer while computing fixture ${TARGET}`],
];
for (const [file, message] of errorCases) {
  t.test(`${file}: error outcome, exit 1, the run goes on`, async (t) => {
    const { run, report, target } = await runMisbehaving(file);
    t.equal(run.code, 1);
    t.equal(target.status, 'error');
    t.equal(target.message, message);
    t.equal(report.counts.error, 1);
    othersPassed(t, report);
    t.ok(hasOutcomeLine(run.stdout, 'ERROR', TARGET, `${message}`), 'the console names the fixture and the message');
    t.equal(run.stdout.trimEnd().split('\n').pop(), '5 passed, 0 failed, 1 skipped, 1 error (1 error, 0 timeouts, 0 missing)');
  });
}

