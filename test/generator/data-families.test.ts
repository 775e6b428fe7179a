/**
 * Data families: the exactness proof's threshold, and the property each family
 * promises, checked on data drawn for real catalog cases.
 */
import t from 'tap';
import { roundToDtype } from '../../src/dtype.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import type { Dtype } from '../../src/types.js';
import { CASE_CATALOG } from '../../generator/case-catalog.js';
import { DATA_FAMILY_DEFINITIONS, exactnessHolds, specialEligible } from '../../src/data-families.js';
import { caseGeometry, planCorpus } from '../../generator/fixture-plan.js';

function caseNamed(name: string) {
  const spec = CASE_CATALOG.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`no case ${name}`);
  return { spec, ...caseGeometry(spec) };
}

t.test('exactness threshold is 2^p for a p-bit significand', async (t) => {
  // float32 has 24 significand bits: 2^24 is representable, and every integer below it.
  t.ok(exactnessHolds(2 ** 24, 'float32'));
  t.notOk(exactnessHolds(2 ** 24 + 1, 'float32'));
  // float16 has 11 bits: 2048 is the limit (2049 rounds to 2048).
  t.ok(exactnessHolds(2048, 'float16'));
  t.notOk(exactnessHolds(2049, 'float16'));
  t.equal(roundToDtype(2049, 'float16'), 2048, 'why: 2049 is not a float16');
  t.ok(exactnessHolds(2 ** 53, 'float64'));
});

t.test('drawn values are representable in the dtype and, for float64, in float32', async (t) => {
  const { geometry } = caseNamed('groups-2');
  for (const dtype of ['float16', 'float32', 'float64'] as Dtype[]) {
    for (const family of ['exact', 'normal', 'wide', 'cancel'] as const) {
      const data = DATA_FAMILY_DEFINITIONS[family].draw({ prng: new Prng(7), geometry, dtype, variant: '', attempt: 0 });
      const storage: Dtype = dtype === 'float16' ? 'float16' : 'float32';
      const bad = [...data.x, ...data.w, ...data.dy].filter((value) => roundToDtype(value, storage) !== value);
      t.equal(bad.length, 0, `${family} ${dtype}: every value representable in ${storage}`);
    }
  }
});

t.test('exact data: integers whose magnitudes satisfy the proof in every planned exact fixture', async (t) => {
  const plans = planCorpus({ families: ['exact'] });
  for (const plan of plans) {
    // Attempt 0 is what most fixtures use; the generator retries with smaller values when the proof fails.
    const data = DATA_FAMILY_DEFINITIONS.exact.draw({ prng: new Prng(plan.seed), geometry: plan.geometry, dtype: plan.dtype, variant: '', attempt: 0 });
    const integers = [...data.x, ...data.w, ...data.dy].every((value) => Number.isInteger(value));
    if (!integers) t.fail(`${plan.id}: non-integer value`);
  }
  t.pass(`${plans.length} exact plans draw integers`);
});

t.test('cancel: results are small next to the sum of |products|', async (t) => {
  const { params, geometry } = caseNamed('basic-3x3-pad1');
  const data = DATA_FAMILY_DEFINITIONS.cancel.draw({ prng: new Prng(3), geometry, dtype: 'float32', variant: '', attempt: 0 });
  const x = { dtype: 'float64' as const, shape: geometry.xShape, data: data.x };
  const w = { dtype: 'float64' as const, shape: geometry.wShape, data: data.w };
  const dy = { dtype: 'float64' as const, shape: geometry.dyShape, data: data.dy };
  const expected = conv2dBackward(x, w, dy, params);
  const magnitude = conv2dBackwardMagnitude(x, w, dy, params);
  const ratio = (output: 'dw' | 'db') => {
    let worst = 0;
    for (let index = 0; index < expected[output].data.length; index++) {
      worst = Math.max(worst, Math.abs(expected[output].data[index]) / magnitude[output].data[index]);
    }
    return worst;
  };
  // With dy alternating in sign over (batch + row), the big offset terms of dw and db cancel:
  // what is left is the noise, far below the magnitude (uncancelled data would give a ratio near 1).
  t.ok(ratio('dw') < 0.2, `dw |expected|/M = ${ratio('dw').toFixed(3)}`);
  t.ok(ratio('db') < 0.2, `db |expected|/M = ${ratio('db').toFixed(3)}`);
});

t.test('onehot-dy, zeros and special keep their promises', async (t) => {
  const { params, geometry } = caseNamed('output-1x1');
  const onehot = DATA_FAMILY_DEFINITIONS['onehot-dy'].draw({ prng: new Prng(1), geometry, dtype: 'float32', variant: '', attempt: 0 });
  t.same([...onehot.dy].filter((value) => value !== 0), [1], 'one-hot dy has a single 1');
  const zeros = DATA_FAMILY_DEFINITIONS.zeros.draw({ prng: new Prng(1), geometry, dtype: 'float32', variant: '', attempt: 0 });
  t.ok(zeros.dy.every((value) => value === 0), 'zeros: dy all zero');

  t.ok(specialEligible(params), 'output-1x1 is unpadded, unstrided, undilated');
  t.notOk(specialEligible(caseNamed('basic-3x3-pad1').params), 'a padded case is not eligible');
  t.same(DATA_FAMILY_DEFINITIONS.special.variants(caseNamed('stride-2').params), [], 'no special variants for a strided case');
  const nan = DATA_FAMILY_DEFINITIONS.special.draw({ prng: new Prng(1), geometry, dtype: 'float32', variant: 'nan-dy', attempt: 0 });
  t.equal([...nan.dy].filter(Number.isNaN).length, 1, 'nan-dy: one NaN in dy');
  const inf = DATA_FAMILY_DEFINITIONS.special.draw({ prng: new Prng(1), geometry, dtype: 'float32', variant: 'inf-x', attempt: 0 });
  t.same([...inf.x].filter((value) => !Number.isFinite(value)).sort(), [-Infinity, Infinity], 'inf-x: one +Inf and one -Inf in x');
  t.throws(() => planCorpus({ catalog: [{ ...caseNamed('stride-2').spec, extraFamilies: ['special'] }] }), /lists family 'special', which its geometry does not allow/);
});
