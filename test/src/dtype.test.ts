/**
 * float16 conversion, rounding to the dtypes, and ulpDistance.
 */
import t from 'tap';
import {
  DTYPE_INFO,
  float16BitsToFloat64,
  float64ToFloat16Bits,
  fromFloat64Array,
  roundToDtype,
  toFloat64Array,
  ulpDistance,
} from '../../src/dtype.js';
import { Prng } from '../../src/prng.js';

const isNaNPattern = (bits: number): boolean => (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;

t.test('float16 bits -> float64 -> bits round-trips all 65536 patterns', async (t) => {
  let mismatches = 0;
  let nanPatterns = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = float16BitsToFloat64(bits);
    const back = float64ToFloat16Bits(value);
    if (isNaNPattern(bits)) {
      nanPatterns++;
      // Every NaN pattern decodes to NaN and encodes back to a NaN pattern (payloads are not kept).
      if (!Number.isNaN(value) || !isNaNPattern(back)) mismatches++;
    } else if (back !== bits) {
      mismatches++;
      if (mismatches <= 5) t.fail(`bits 0x${bits.toString(16)} -> ${value} -> 0x${back.toString(16)}`);
    }
  }
  // NaN patterns: exponent 31, fraction 1..1023, two signs: 2 * 1023.
  t.equal(nanPatterns, 2 * 1023);
  t.equal(mismatches, 0);
});

t.test('float16 decoding of known patterns', async (t) => {
  t.equal(float16BitsToFloat64(0x3c00), 1, 'exponent 15 = bias, fraction 0');
  t.equal(float16BitsToFloat64(0xc000), -2);
  t.equal(float16BitsToFloat64(0x3555), (1 + 0x155 / 1024) * 2 ** -2, '0x3555: exponent 13, fraction 0x155');
  t.equal(float16BitsToFloat64(0x7bff), 65504, 'largest finite: (2 - 2^-10) * 2^15');
  t.equal(float16BitsToFloat64(0x0400), 2 ** -14, 'smallest normal');
  t.equal(float16BitsToFloat64(0x03ff), 1023 * 2 ** -24, 'largest subnormal');
  t.equal(float16BitsToFloat64(0x0001), 2 ** -24, 'smallest subnormal');
  t.equal(float16BitsToFloat64(0x7c00), Infinity);
  t.equal(float16BitsToFloat64(0xfc00), -Infinity);
  t.ok(Object.is(float16BitsToFloat64(0x8000), -0), '0x8000 is -0');
  t.ok(Object.is(float16BitsToFloat64(0x0000), 0), '0x0000 is +0');
  // Positive finite patterns decode to strictly increasing values (the ordering ulpDistance relies on).
  let increasing = true;
  for (let bits = 1; bits <= 0x7c00; bits++) if (!(float16BitsToFloat64(bits) > float16BitsToFloat64(bits - 1))) increasing = false;
  t.ok(increasing, 'patterns 0x0000..0x7c00 increase');
});

t.test('float16 rounding: ties to even at hand-picked values', async (t) => {
  // Spacing of float16 in [1, 2) is 2^-10, so 1 + 2^-11 is halfway between 1 (0x3c00, even
  // fraction 0) and 1 + 2^-10 (0x3c01, odd): the tie goes to the even 0x3c00.
  t.equal(float64ToFloat16Bits(1 + 2 ** -11), 0x3c00);
  // 1 + 3*2^-11 is halfway between 0x3c01 (odd) and 0x3c02 (even): goes up to 0x3c02.
  t.equal(float64ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
  // Just off the tie the nearest value wins: 1 + 2^-11 + 2^-40 is nearer 0x3c01.
  t.equal(float64ToFloat16Bits(1 + 2 ** -11 + 2 ** -40), 0x3c01);
  // In [2048, 4096) the spacing is 2: 2049 is halfway between 2048 (0x6800, even) and 2050 (0x6801): -> 2048.
  t.equal(float64ToFloat16Bits(2049), 0x6800);
  // 2051 is halfway between 2050 (0x6801, odd) and 2052 (0x6802): -> 2052.
  t.equal(float64ToFloat16Bits(2051), 0x6802);
  // Carry into the exponent: 2 - 2^-11 is halfway between 2 - 2^-10 (0x3bff, odd) and 2 (0x4000): -> 2.
  t.equal(float64ToFloat16Bits(2 - 2 ** -11), 0x4000);
  // Negative ties mirror the positive ones (the sign bit is set, the magnitude rounds the same).
  t.equal(float64ToFloat16Bits(-(1 + 3 * 2 ** -11)), 0x8000 | 0x3c02);
  // Subnormal ties, steps of 2^-24: 2^-25 is halfway between 0 (even) and 2^-24 (0x0001): -> +0.
  t.equal(float64ToFloat16Bits(2 ** -25), 0x0000);
  // 3*2^-25 is halfway between 0x0001 (odd) and 0x0002: -> 0x0002.
  t.equal(float64ToFloat16Bits(3 * 2 ** -25), 0x0002);
  // 1023.5 * 2^-24 is halfway between the largest subnormal 0x03ff (odd) and the smallest normal 0x0400: -> 0x0400.
  t.equal(float64ToFloat16Bits(1023.5 * 2 ** -24), 0x0400);
});

t.test('float16 overflow: 65520 rounds to Infinity, 65519.99 to 65504', async (t) => {
  // The largest finite value is 65504 = 0x7bff (odd fraction); the next step would be 65536.
  // 65520 is exactly halfway, and the tie goes to the "even" 65536, which is Infinity.
  t.equal(float64ToFloat16Bits(65520), 0x7c00);
  t.equal(float64ToFloat16Bits(-65520), 0xfc00);
  t.equal(float64ToFloat16Bits(65519.99), 0x7bff, 'below the halfway point: nearest is 65504');
  t.equal(float64ToFloat16Bits(-65519.99), 0xfbff);
  t.equal(float64ToFloat16Bits(1e10), 0x7c00);
  t.equal(float64ToFloat16Bits(Infinity), 0x7c00);
  t.equal(float64ToFloat16Bits(-Infinity), 0xfc00);
  t.equal(roundToDtype(65520, 'float16'), Infinity);
  t.equal(roundToDtype(65519.99, 'float16'), 65504);
  t.ok(isNaNPattern(float64ToFloat16Bits(NaN)), 'NaN encodes to a NaN pattern');
  t.ok(Number.isNaN(roundToDtype(NaN, 'float16')));
});

t.test('float16 subnormals and signed zeros', async (t) => {
  t.equal(float64ToFloat16Bits(2 ** -24), 0x0001, 'smallest subnormal');
  t.equal(float64ToFloat16Bits(-(2 ** -24)), 0x8001);
  t.equal(float64ToFloat16Bits(5 * 2 ** -24), 0x0005);
  t.equal(float64ToFloat16Bits(2 ** -14 - 2 ** -24), 0x03ff, 'largest subnormal');
  t.equal(float64ToFloat16Bits(2 ** -14), 0x0400, 'smallest normal');
  // Just above half the smallest subnormal rounds up to it; 2^-26 (a quarter) rounds to zero, keeping the sign.
  t.equal(float64ToFloat16Bits(2 ** -25 * (1 + 2 ** -20)), 0x0001);
  t.equal(float64ToFloat16Bits(2 ** -26), 0x0000);
  t.equal(float64ToFloat16Bits(-(2 ** -26)), 0x8000);
  t.equal(float64ToFloat16Bits(1e-300), 0x0000);
  t.equal(float64ToFloat16Bits(-0), 0x8000);
  t.equal(float64ToFloat16Bits(0), 0x0000);
});

t.test('float16 rounding matches a nearest-value search at every midpoint', async (t) => {
  // All finite non-negative float16 values in increasing order (patterns 0x0000..0x7bff).
  const values: number[] = [];
  for (let bits = 0; bits <= 0x7bff; bits++) values.push(float16BitsToFloat64(bits));
  let failures = 0;
  const check = (input: number, expected: number, what: string): void => {
    const got = float64ToFloat16Bits(input);
    if (got !== expected) {
      failures++;
      if (failures <= 5) t.fail(`${what}: ${input} -> 0x${got.toString(16)}, expected 0x${expected.toString(16)}`);
    }
  };
  for (let bits = 0; bits < values.length - 1; bits++) {
    const low = values[bits];
    const high = values[bits + 1];
    // Both neighbours have at most 11 significant bits, so their midpoint is exact in float64.
    const middle = (low + high) / 2;
    check(middle, bits % 2 === 0 ? bits : bits + 1, 'midpoint ties to the even pattern');
    check(-middle, 0x8000 | (bits % 2 === 0 ? bits : bits + 1), 'negative midpoint');
    // One float64 step either side of the midpoint decides the direction.
    check(middle - Math.max(Number.MIN_VALUE, middle * 2 ** -52), bits, 'just below the midpoint');
    check(middle + middle * 2 ** -52, bits + 1, 'just above the midpoint');
  }
  // Random doubles against a binary search for the nearest value (ties checked above).
  const prng = new Prng(0xf16);
  for (let sample = 0; sample < 20000; sample++) {
    const magnitude = 2 ** (prng.nextFloat() * 44 - 28) * (1 + prng.nextFloat());
    if (magnitude >= 65504) continue;
    let lowIndex = 0;
    let highIndex = values.length - 1;
    while (highIndex - lowIndex > 1) {
      const middleIndex = (lowIndex + highIndex) >> 1;
      if (values[middleIndex] <= magnitude) lowIndex = middleIndex;
      else highIndex = middleIndex;
    }
    const below = magnitude - values[lowIndex];
    const above = values[highIndex] - magnitude;
    if (below === above) continue;
    check(magnitude, below < above ? lowIndex : highIndex, 'nearest value');
  }
  t.equal(failures, 0);
});

t.test('array conversion and roundToDtype', async (t) => {
  const values = Float64Array.from([0, -0, 1, -2.5, 0.1, 65504, 1e-6, Infinity, -Infinity, NaN]);
  const half = fromFloat64Array(values, 'float16');
  t.ok(half instanceof Uint16Array);
  const decoded = toFloat64Array(half, 'float16');
  for (let index = 0; index < values.length; index++) {
    const expected = roundToDtype(values[index], 'float16');
    t.ok(Object.is(decoded[index], expected), `float16 element ${index}: ${decoded[index]} is ${expected}`);
  }
  // 0.1 is not a float16: its nearest is 0x2e66 = (1 + 614/1024) * 2^-4 = 0.0999755859375.
  t.equal(decoded[4], 0.0999755859375);
  const single = fromFloat64Array(values, 'float32');
  t.ok(single instanceof Float32Array);
  t.equal(toFloat64Array(single, 'float32')[4], Math.fround(0.1));
  t.equal(roundToDtype(0.1, 'float32'), Math.fround(0.1));
  t.equal(roundToDtype(0.1, 'float64'), 0.1);
  const double = fromFloat64Array(values, 'float64');
  t.ok(double instanceof Float64Array && double !== values, 'float64 storage is a copy');
});

t.test('DTYPE_INFO constants agree with the conversions', async (t) => {
  // Unit roundoff u = half the spacing at 1: 1 + u is a tie that rounds back to 1, 1 + 2u is representable.
  const half = DTYPE_INFO.float16.unitRoundoff;
  t.equal(roundToDtype(1 + half, 'float16'), 1);
  t.equal(roundToDtype(1 + 2 * half, 'float16'), 1 + 2 * half);
  const single = DTYPE_INFO.float32.unitRoundoff;
  t.equal(Math.fround(1 + single), 1);
  t.equal(Math.fround(1 + 2 * single), 1 + 2 * single);
  t.equal(1 + DTYPE_INFO.float64.unitRoundoff, 1);
  t.equal(DTYPE_INFO.float64.unitRoundoff * 2, Number.EPSILON);
  // Subnormal spacing: the smallest positive value.
  t.equal(DTYPE_INFO.float16.underflowSpacing, float16BitsToFloat64(0x0001));
  t.equal(Math.fround(DTYPE_INFO.float32.underflowSpacing), DTYPE_INFO.float32.underflowSpacing);
  t.equal(Math.fround(DTYPE_INFO.float32.underflowSpacing / 2), 0, 'half of it ties to 0');
  t.equal(DTYPE_INFO.float64.underflowSpacing, Number.MIN_VALUE);
  // Largest finite values.
  t.equal(DTYPE_INFO.float16.maxFinite, float16BitsToFloat64(0x7bff));
  t.equal(Math.fround(DTYPE_INFO.float32.maxFinite), DTYPE_INFO.float32.maxFinite);
  t.equal(Math.fround(DTYPE_INFO.float32.maxFinite * (1 + 2 ** -23)), Infinity);
  t.equal(DTYPE_INFO.float64.maxFinite, Number.MAX_VALUE);
});

t.test('ulpDistance', async (t) => {
  // One step in each dtype at 1: spacing 2^-10, 2^-23, 2^-52.
  t.equal(ulpDistance(1, 1 + 2 ** -10, 'float16'), 1);
  t.equal(ulpDistance(1, 1 + 2 ** -23, 'float32'), 1);
  t.equal(ulpDistance(1, 1 + 2 ** -52, 'float64'), 1, 'float64 patterns exceed 2^53 and must still differ by 1');
  t.equal(ulpDistance(1 + 2 ** -52, 1, 'float64'), 1, 'symmetric');
  t.equal(ulpDistance(1e300, 1e300 * (1 + 2 ** -52), 'float64'), 1);
  // From 1 to 2 in float64: 2^52 values of [1, 2).
  t.equal(ulpDistance(1, 2, 'float64'), 2 ** 52);
  // Below 1 the spacing halves: 1 - 2^-11 is one float16 step below 1.
  t.equal(ulpDistance(1 - 2 ** -11, 1, 'float16'), 1);
  t.equal(ulpDistance(1, 2, 'float16'), 1024);
  // Signed zeros are equal; the smallest subnormals on either side of zero are 2 steps apart (via 0).
  t.equal(ulpDistance(-0, 0, 'float16'), 0);
  t.equal(ulpDistance(-0, 0, 'float64'), 0);
  t.equal(ulpDistance(-(2 ** -24), 2 ** -24, 'float16'), 2);
  t.equal(ulpDistance(-(2 ** -149), 2 ** -149, 'float32'), 2);
  t.equal(ulpDistance(-Number.MIN_VALUE, Number.MIN_VALUE, 'float64'), 2);
  t.equal(ulpDistance(0, Number.MIN_VALUE, 'float64'), 1);
  // -1 to 1 in float16: 0x3c00 = 15360 patterns on each side.
  t.equal(ulpDistance(-1, 1, 'float16'), 2 * 0x3c00);
  // Infinity is one step past the largest finite value.
  t.equal(ulpDistance(65504, Infinity, 'float16'), 1);
  t.equal(ulpDistance(DTYPE_INFO.float32.maxFinite, Infinity, 'float32'), 1);
  t.equal(ulpDistance(Number.MAX_VALUE, Infinity, 'float64'), 1);
  // NaN: 0 to NaN, Infinity to anything else.
  t.equal(ulpDistance(NaN, NaN, 'float32'), 0);
  t.equal(ulpDistance(NaN, 1, 'float32'), Infinity);
  t.equal(ulpDistance(1, NaN, 'float64'), Infinity);
});
