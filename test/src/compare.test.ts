/**
 * compareOutput: special values, the exact and bound rules at their edges, grades,
 * and the worst element.
 */
import t from 'tap';
import { combineGrades, compareOutput, type CompareInput } from '../../src/compare.js';
import { float16BitsToFloat64, float64ToFloat16Bits, roundToDtype, ulpDistance } from '../../src/dtype.js';
import { coefficientsForDtype, elementBound, typicalError } from '../../src/tolerance.js';
import type { Dtype } from '../../src/types.js';

interface Options {
  dtype?: Dtype;
  rule?: 'exact' | 'bound';
  accumulationLength?: number;
  /** Per-element M; a single number fills every element. */
  magnitude?: number[] | number;
  shape?: number[];
}

function compare(expected: number[], got: number[], options: Options = {}): ReturnType<typeof compareOutput> {
  const magnitude = options.magnitude ?? 1;
  const input: CompareInput = {
    output: 'dx',
    shape: options.shape ?? [expected.length],
    dtype: options.dtype ?? 'float32',
    rule: options.rule ?? 'bound',
    accumulationLength: options.accumulationLength ?? 1,
    expected: Float64Array.from(expected),
    magnitude: typeof magnitude === 'number' ? new Float64Array(expected.length).fill(magnitude) : Float64Array.from(magnitude),
    got: Float64Array.from(got),
  };
  return compareOutput(input);
}

const scratch64 = new Float64Array(1);
const scratch64Bits = new BigInt64Array(scratch64.buffer);
const scratch32 = new Float32Array(1);
const scratch32Bits = new Int32Array(scratch32.buffer);

/** The next value of the dtype above a positive finite value of that dtype. */
function nextUp(value: number, dtype: Dtype): number {
  if (dtype === 'float16') return float16BitsToFloat64(float64ToFloat16Bits(value) + 1);
  if (dtype === 'float32') {
    scratch32[0] = value;
    scratch32Bits[0] += 1;
    return scratch32[0];
  }
  scratch64[0] = value;
  scratch64Bits[0] += 1n;
  return scratch64[0];
}

/** The next value of the dtype below a positive finite value of that dtype. */
function nextDown(value: number, dtype: Dtype): number {
  if (dtype === 'float16') return float16BitsToFloat64(float64ToFloat16Bits(value) - 1);
  if (dtype === 'float32') {
    scratch32[0] = value;
    scratch32Bits[0] -= 1;
    return scratch32[0];
  }
  scratch64[0] = value;
  scratch64Bits[0] -= 1n;
  return scratch64[0];
}

const DTYPES: Dtype[] = ['float16', 'float32', 'float64'];

t.test('NaN matches only NaN, +Inf only +Inf, -Inf only -Inf (both rules)', async (t) => {
  const values: [string, number][] = [
    ['NaN', NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['1', 1],
  ];
  for (const rule of ['exact', 'bound'] as const) {
    for (const [expectedName, expected] of values) {
      for (const [gotName, got] of values) {
        const metrics = compare([expected], [got], { rule });
        const shouldMatch = expectedName === gotName;
        t.equal(metrics.failingElements, shouldMatch ? 0 : 1, `${rule}: expected ${expectedName}, got ${gotName}`);
        if (!shouldMatch) {
          t.equal(metrics.grade, null);
          t.same(metrics.worst?.index, [0], 'the mismatch is the worst element');
          t.equal(metrics.maxErrorInBounds, Infinity);
        } else {
          t.equal(metrics.grade, 'exact');
        }
      }
    }
  }
  // A finite expected value with a huge but finite result is judged by the bound, not as special.
  t.equal(compare([1], [3e38]).failingElements, 1);
});

t.test('-0 equals +0 under the exact rule', async (t) => {
  for (const dtype of DTYPES) {
    const plus = compare([0], [-0], { dtype, rule: 'exact' });
    t.equal(plus.failingElements, 0, `${dtype}: expected +0, got -0`);
    t.equal(plus.grade, 'exact');
    t.equal(plus.maxUlp, 0);
    const minus = compare([-0], [0], { dtype, rule: 'exact' });
    t.equal(minus.failingElements, 0, `${dtype}: expected -0, got +0`);
  }
});

t.test('one ulp off fails the exact rule and passes the bound rule', async (t) => {
  for (const dtype of DTYPES) {
    // expected 1 from k = 3 products with M = 3 (say 1 + 1 - 1). One ulp above 1 is 2u; the
    // bound is about gamma_3(u)*3 + u = ~10u, so one ulp is well inside it.
    const got = nextUp(1, dtype);
    const exact = compare([1], [got], { dtype, rule: 'exact', accumulationLength: 3, magnitude: 3 });
    t.equal(exact.failingElements, 1, `${dtype}: exact rule fails`);
    t.equal(exact.grade, null);
    t.equal(exact.maxUlp, 1, `${dtype}: one ulp`);
    const bound = compare([1], [got], { dtype, rule: 'bound', accumulationLength: 3, magnitude: 3 });
    t.equal(bound.failingElements, 0, `${dtype}: bound rule passes`);
    t.equal(bound.maxUlp, 1);
    t.equal(bound.maxAbsError, got - 1);
    t.equal(bound.maxRelError, got - 1);
    t.ok(bound.grade === 'tight' || bound.grade === 'within-bound', 'not graded exact');
  }
  // The exact rule compares with the expected value rounded to the dtype: 0.1 is not a float32,
  // and fround(0.1) is the exact answer for a float32 implementation.
  t.equal(compare([0.1], [Math.fround(0.1)], { rule: 'exact' }).failingElements, 0);
  t.equal(compare([0.1], [nextUp(Math.fround(0.1), 'float32')], { rule: 'exact' }).failingElements, 1);
});

t.test('an error just above the bound fails, just below passes', async (t) => {
  for (const dtype of DTYPES) {
    // k = 10 products with M = 10 summing to 1: the bound is computed by src/tolerance.ts.
    const k = 10;
    const magnitude = 10;
    const bound = elementBound(coefficientsForDtype(k, dtype), 1, magnitude);
    // The largest value of the dtype whose distance from 1 is <= bound, and the one after it.
    // Values in [1, 2) minus 1 are exact (Sterbenz), so the errors below are exact too.
    let below = roundToDtype(1 + bound, dtype);
    while (below - 1 > bound) below = nextDown(below, dtype);
    while (nextUp(below, dtype) - 1 <= bound) below = nextUp(below, dtype);
    const above = nextUp(below, dtype);
    t.ok(below - 1 <= bound && above - 1 > bound, `${dtype}: ${below - 1} <= bound ${bound} < ${above - 1}`);
    t.equal(ulpDistance(below, above, dtype), 1, 'one ulp apart');
    t.ok(bound / (above - below) > 4, 'the bound spans several ulps, so this is not the exact rule in disguise');
    const pass = compare([1], [below], { dtype, accumulationLength: k, magnitude });
    const fail = compare([1], [above], { dtype, accumulationLength: k, magnitude });
    t.equal(pass.failingElements, 0, `${dtype}: just below passes`);
    t.ok(pass.maxErrorInBounds <= 1 && pass.maxErrorInBounds > 0.9);
    t.equal(fail.failingElements, 1, `${dtype}: just above fails`);
    t.ok(fail.maxErrorInBounds > 1);
    t.equal(fail.worst?.bound, bound, 'the worst element reports the bound');
    // The same on the low side: 1 - error.
    let low = roundToDtype(1 - bound, dtype);
    while (1 - low > bound) low = nextUp(low, dtype);
    while (1 - nextDown(low, dtype) <= bound) low = nextDown(low, dtype);
    t.equal(compare([1], [low], { dtype, accumulationLength: k, magnitude }).failingElements, 0, `${dtype}: low side within`);
    t.equal(compare([1], [nextDown(low, dtype)], { dtype, accumulationLength: k, magnitude }).failingElements, 1, `${dtype}: low side beyond`);
  }
});

t.test('grades exact, tight and within-bound are each reached', async (t) => {
  // float32, k = 100, M = 100, expected 1: typical = sqrt(100)*u*100 + u*1 + floor ~ 1001u,
  // bound = gamma_100(u)*100 + ... ~ 10001u. The spacing at 1 is 2u.
  const u = 2 ** -24;
  const k = 100;
  const magnitude = 100;
  const coefficients = coefficientsForDtype(k, 'float32');
  const typical = typicalError(coefficients, 1, magnitude);
  const bound = elementBound(coefficients, 1, magnitude);
  const tightValue = 1 + 100 * 2 * u; // error 200u
  const wideValue = 1 + 2000 * 2 * u; // error 4000u
  t.ok(tightValue - 1 <= typical, 'error 200u is within the typical error');
  t.ok(wideValue - 1 > typical && wideValue - 1 <= bound, 'error 4000u is beyond typical, within the bound');
  const options = { accumulationLength: k, magnitude };
  t.equal(compare([1, 2], [1, 2], options).grade, 'exact');
  t.equal(compare([1, 2], [tightValue, 2], options).grade, 'tight');
  t.equal(compare([1, 2], [wideValue, 2], options).grade, 'within-bound');
  t.equal(compare([1, 1], [tightValue, wideValue], options).grade, 'within-bound', 'the weakest element decides');
  // An exact-rule pass is graded exact.
  t.equal(compare([1, 2], [1, 2], { ...options, rule: 'exact' }).grade, 'exact');
  t.equal(combineGrades(['exact', 'exact']), 'exact');
  t.equal(combineGrades(['exact', 'tight']), 'tight');
  t.equal(combineGrades(['tight', 'within-bound', 'exact']), 'within-bound');
});

t.test('the worst element is the unflattened index of the largest error', async (t) => {
  const shape = [2, 3, 4]; // strides 12, 4, 1
  const expected = new Array<number>(24).fill(1);
  const spacing = 2 ** -52; // float64 spacing at 1
  // All passing (bound ~ 2u at k=1, M=1 and |expected|=1 ... so use M = 100 for room):
  // errors of 1, 3 and 2 ulps at flat 5, 17, 20. Flat 17 = 1*12 + 1*4 + 1 -> [1, 1, 1].
  const passing = [...expected];
  passing[5] = 1 + spacing;
  passing[17] = 1 + 3 * spacing;
  passing[20] = 1 + 2 * spacing;
  const allPass = compare(expected, passing, { dtype: 'float64', shape, magnitude: 100 });
  t.equal(allPass.failingElements, 0);
  t.same(allPass.worst?.index, [1, 1, 1]);
  t.equal(allPass.worst?.flatIndex, 17);
  t.equal(allPass.worst?.got, 1 + 3 * spacing);
  t.equal(allPass.worst?.expected, 1);
  t.equal(allPass.maxUlp, 3);

  // Failing elements: error 0.5 at flat 3, error 2 at flat 22, a passing 1-ulp error at flat 10.
  // The larger failure comes second and must win: 22 = 1*12 + 2*4 + 2 -> [1, 2, 2].
  const failing = [...expected];
  failing[3] = 1.5;
  failing[10] = 1 + spacing;
  failing[22] = 3;
  const someFail = compare(expected, failing, { dtype: 'float64', shape, magnitude: 100 });
  t.equal(someFail.failingElements, 2);
  t.same(someFail.worst?.index, [1, 2, 2]);
  t.equal(someFail.worst?.got, 3);
  t.equal(someFail.maxAbsError, 2);
  t.equal(someFail.maxErrorInBounds, 2 / (someFail.worst?.bound ?? NaN));

  // Everything exact: no worst element.
  t.equal(compare(expected, expected, { dtype: 'float64', shape }).worst, null);
});

t.test('gamma = Infinity (k*u >= 1) with M = 0 still catches a wrong value', async (t) => {
  // float16, k = 4096: k*u = 2. The expected value 0 with M = 0 (all products zero) must be 0.
  const options = { dtype: 'float16' as Dtype, accumulationLength: 4096, magnitude: 0 };
  t.equal(compare([0], [0], options).failingElements, 0);
  t.equal(compare([0], [0.5], options).failingElements, 1);
  // With M > 0 no bound can be given: any finite result passes the bound rule.
  t.equal(compare([1], [100], { ...options, magnitude: 10 }).failingElements, 0);
});
