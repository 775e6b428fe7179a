/**
 * compareOutput reads a float32 result as it is (a Float32Array, no float64 copy):
 * the metrics must be exactly those of the same values decoded to float64, for
 * both rules, with special values, exact matches, near misses and far misses.
 */
import t from 'tap';
import { compareOutput, type CompareInput } from '../../src/compare.js';
import { Prng } from '../../src/prng.js';

/** Expected float64 values, their magnitudes, and float32 results around them. */
function sample(seed: number, length: number): { expected: Float64Array; magnitude: Float64Array; got: Float32Array } {
  const prng = new Prng(seed);
  const expected = new Float64Array(length);
  const magnitude = new Float64Array(length);
  const got = new Float32Array(length);
  for (let index = 0; index < length; index++) {
    const value = prng.normal() * 10;
    expected[index] = value;
    // M >= |expected| (a sum of |products| bounds the sum's absolute value).
    magnitude[index] = Math.abs(value) * (1 + prng.nextFloat());
    // Four kinds of result: the rounded value, one float32 step off, far off, or a special value.
    const kind = prng.integer(0, 3);
    if (kind === 0) got[index] = value;
    else if (kind === 1) got[index] = Math.fround(value) * (1 + 2 ** -23);
    else if (kind === 2) got[index] = value + prng.normal();
    else got[index] = [NaN, Infinity, -Infinity, -0][prng.integer(0, 3)];
  }
  // A few special expected values, which only the same special result matches.
  expected[0] = NaN;
  got[0] = NaN;
  expected[1] = Infinity;
  got[1] = -Infinity;
  expected[2] = 0;
  got[2] = -0;
  return { expected, magnitude, got };
}

t.test('a Float32Array result gives the metrics of the same values as a Float64Array', async (t) => {
  for (const rule of ['exact', 'bound'] as const) {
    for (const seed of [1, 2, 3]) {
      const { expected, magnitude, got } = sample(seed, 500);
      const base: Omit<CompareInput, 'got'> = { output: 'dw', shape: [5, 100], dtype: 'float32', rule, accumulationLength: 64, expected, magnitude };
      const fromFloat32 = compareOutput({ ...base, got });
      const fromFloat64 = compareOutput({ ...base, got: Float64Array.from(got) });
      t.same(fromFloat32, fromFloat64, `rule ${rule}, seed ${seed}`);
      t.ok(fromFloat32.failingElements > 0, `rule ${rule}, seed ${seed}: the far misses fail (${fromFloat32.failingElements})`);
    }
  }
});
