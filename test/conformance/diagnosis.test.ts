/**
 * The likely-cause ranking (conformance/diagnosis/rank.ts) on hand-made outcomes
 * whose numbers can be followed by hand; the catalog's own runs are checked in
 * self-test.test.ts.
 */
import t from 'tap';
import { likelyCauses, MIN_SCORE, scoreCause } from '../../conformance/diagnosis/rank.js';
import { CAUSE_SIGNATURES } from '../../conformance/diagnosis/signatures.js';
import type { OutputMetrics, OutputName, Outcome } from '../../src/types.js';

function metrics(output: OutputName, failing: boolean): OutputMetrics {
  return {
    output,
    elements: 4,
    failingElements: failing ? 2 : 0,
    maxErrorInBounds: failing ? 10 : 0,
    maxErrorInTypical: 0,
    maxUlp: 0,
    maxAbsError: 0,
    maxRelError: 0,
    worst: null,
    grade: failing ? null : 'exact',
  };
}

/** A scored fixture: every output scored, `failing` ones failing. */
function scored(id: string, tags: string[], failing: OutputName[]): Outcome {
  const outputs = (['dx', 'dw', 'db'] as const).map((name) => metrics(name, failing.includes(name)));
  const base = { id, family: 'normal' as const, dtype: 'float32' as const, tags };
  return failing.length > 0 ? { ...base, status: 'fail', failing, outputs, seconds: 0 } : { ...base, status: 'pass', grade: 'exact', outputs, seconds: 0 };
}

t.test('only dx fails, and only on dilated fixtures: dilation in dx', async (t) => {
  const outcomes = [
    scored('a', ['dilated', 'padded'], ['dx']),
    scored('b', ['dilated'], ['dx']),
    scored('c', ['padded'], []),
    scored('d', ['strided'], []),
  ];
  const causes = likelyCauses(outcomes);
  t.equal(causes[0].cause, 'dilation-in-dx');
  // Failing pairs: (a, dx), (b, dx). The signature predicts dx on a and b: recall 2/2, precision 2/2.
  t.equal(causes[0].score, 1);
  t.match(causes[0].evidence, /^dx fails on 2 of 2 fixtures tagged dilated; 0 failing outputs elsewhere$/);
  // dx everywhere (dx-overwritten) explains both pairs but predicts 4: 1 * 2/4.
  const overwritten = scoreCause(CAUSE_SIGNATURES.find((signature) => signature.id === 'dx-overwritten')!, outcomes);
  t.equal(overwritten.score, 0.5);
});

t.test('a failure where a signature says fixtures pass weighs against it', async (t) => {
  const signature = CAUSE_SIGNATURES.find((item) => item.id === 'kernel-flip-in-dx')!;
  const outcomes = [scored('a', [], ['dx']), scored('b', ['pointwise'], ['dx']), scored('c', ['pointwise'], []), scored('d', ['pointwise'], []), scored('e', ['pointwise'], [])];
  const cause = scoreCause(signature, outcomes);
  // Predicted: dx of a only (b..e are pointwise): recall 1/2, precision 1/1; 1 of the 4 pointwise
  // fixtures fails, so consistency 1 - sqrt(1/4) = 0.5.
  t.equal(cause.recall, 0.5);
  t.equal(cause.precision, 1);
  t.equal(cause.consistency, 0.5);
  t.equal(cause.score, 0.25);
});

t.test('nothing failing, or nothing fitting, names no cause', async (t) => {
  t.same(likelyCauses([scored('a', ['dilated'], []), scored('b', [], [])]), []);
  // Errors and skips are not scored outputs: they name nothing either.
  t.same(likelyCauses([{ id: 'e', family: 'normal', dtype: 'float32', tags: [], status: 'error', message: 'boom' }]), []);
  t.ok(MIN_SCORE > 0 && MIN_SCORE < 1);
});
