/**
 * bfloat16 as a dtype: bit encoding/decoding, round-to-nearest-even directly from
 * float64, constants, ulpDistance, `.npy` storage as `<u2` bits, and comparison.
 */
import t from 'tap';
import {
  DTYPE_INFO,
  bfloat16BitsToFloat64,
  float64ToBfloat16Bits,
  fromFloat64Array,
  roundToDtype,
  toFloat64Array,
  ulpDistance,
} from '../../src/dtype.js';
import { compareOutput } from '../../src/compare.js';
import { readNpy, writeNpy } from '../../src/npy.js';
import { roundToBfloat16 } from '../../conformance/self-test/fast-rounding.js';
import { Prng } from '../../src/prng.js';

const isNaNPattern = (bits: number): boolean => (bits & 0x7f80) === 0x7f80 && (bits & 0x007f) !== 0;

t.test('bfloat16 bits -> float64 -> bits round-trips all 65536 patterns', async (t) => {
  let mismatches = 0;
  let nanPatterns = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = bfloat16BitsToFloat64(bits);
    const back = float64ToBfloat16Bits(value);
    if (isNaNPattern(bits)) {
      nanPatterns++;
      if (!Number.isNaN(value) || !isNaNPattern(back)) mismatches++;
    } else if (back !== bits) {
      mismatches++;
    }
  }
  // NaN patterns: exponent 255, fraction 1..127, two signs.
  t.equal(nanPatterns, 2 * 127);
  t.equal(mismatches, 0);
});

t.test('bfloat16 decoding and constants', async (t) => {
  t.equal(bfloat16BitsToFloat64(0x3f80), 1, 'exponent 127 = bias');
  t.equal(bfloat16BitsToFloat64(0xc000), -2);
  t.equal(bfloat16BitsToFloat64(0x7f7f), DTYPE_INFO.bfloat16.maxFinite, 'largest finite (2 - 2^-7) * 2^127');
  t.equal(bfloat16BitsToFloat64(0x0001), DTYPE_INFO.bfloat16.underflowSpacing, 'smallest subnormal 2^-133');
  t.equal(bfloat16BitsToFloat64(0x0080), 2 ** -126, 'smallest normal');
  t.equal(bfloat16BitsToFloat64(0x7f80), Infinity);
  t.ok(Object.is(bfloat16BitsToFloat64(0x8000), -0));
  t.equal(DTYPE_INFO.bfloat16.unitRoundoff, 2 ** -8);
  t.equal(DTYPE_INFO.bfloat16.npyDescr, '<u2');
});

t.test('bfloat16 rounding: ties to even, overflow, subnormals, no double rounding', async (t) => {
  // Spacing at 1 is 2^-7: 1 + 2^-8 ties between 0x3f80 (even) and 0x3f81.
  t.equal(float64ToBfloat16Bits(1 + 2 ** -8), 0x3f80);
  t.equal(float64ToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
  // Just above the tie: float32 would round 1 + 2^-8 + 2^-40 to the tie 1 + 2^-8, and the tie
  // then to 1 (double rounding); direct rounding gives 1 + 2^-7.
  t.equal(float64ToBfloat16Bits(1 + 2 ** -8 + 2 ** -40), 0x3f81);
  const overflow = (2 - 2 ** -8) * 2 ** 127; // half a spacing past the largest finite
  t.equal(float64ToBfloat16Bits(overflow), 0x7f80);
  t.equal(float64ToBfloat16Bits(-overflow), 0xff80);
  t.equal(float64ToBfloat16Bits(overflow * (1 - 2 ** -30)), 0x7f7f);
  t.equal(float64ToBfloat16Bits(2 ** -134), 0x0000, 'half the smallest subnormal ties to +0');
  t.equal(float64ToBfloat16Bits(3 * 2 ** -134), 0x0002, '1.5 subnormal steps tie to 2');
  t.equal(float64ToBfloat16Bits(-0), 0x8000);
  t.ok(isNaNPattern(float64ToBfloat16Bits(NaN)));
});

t.test('bfloat16 rounding equals the fast self-test rounding, and keeps the nearest value', async (t) => {
  const prng = new Prng(16);
  const mismatches: string[] = [];
  for (let index = 0; index < 50000; index++) {
    const value = prng.normal() * 2 ** prng.integer(-140, 120);
    const rounded = roundToDtype(value, 'bfloat16');
    if (!Object.is(rounded, roundToBfloat16(value)) && mismatches.length < 5) mismatches.push(`${value}`);
    // Round to nearest: the error is at most half the spacing, |value| * 2^-8 or half a subnormal step.
    if (Math.abs(rounded - value) > Math.max(Math.abs(value) * 2 ** -8, 2 ** -134) && mismatches.length < 5) mismatches.push(`far: ${value}`);
  }
  // Every midpoint of neighbouring positive patterns, and its neighbours.
  for (let bits = 0; bits < 0x7f7f; bits++) {
    const value = bfloat16BitsToFloat64(bits);
    const next = bfloat16BitsToFloat64(bits + 1);
    const midpoint = (value + next) / 2;
    const nudge = (next - value) * 2 ** -20;
    for (const candidate of [midpoint, midpoint - nudge, midpoint + nudge]) {
      if (!Object.is(roundToDtype(candidate, 'bfloat16'), roundToBfloat16(candidate)) && mismatches.length < 5) mismatches.push(`${candidate}`);
    }
    const tie = float64ToBfloat16Bits(midpoint);
    if (tie !== (bits % 2 === 0 ? bits : bits + 1) && mismatches.length < 5) mismatches.push(`tie at 0x${bits.toString(16)}`);
  }
  t.same(mismatches, []);
});

t.test('bfloat16 arrays, ulpDistance and .npy storage as <u2 bits', async (t) => {
  const values = new Float64Array([1, -2.5, 1 + 2 ** -8, Infinity, 0]);
  const bits = fromFloat64Array(values, 'bfloat16');
  t.ok(bits instanceof Uint16Array);
  t.same(Array.from(bits), [0x3f80, 0xc020, 0x3f80, 0x7f80, 0x0000]);
  t.same(Array.from(toFloat64Array(bits, 'bfloat16')), [1, -2.5, 1, Infinity, 0]);
  t.equal(ulpDistance(1, 1 + 2 ** -7, 'bfloat16'), 1);
  t.equal(ulpDistance(-(2 ** -133), 2 ** -133, 'bfloat16'), 2);
  const bytes = writeNpy({ dtype: 'bfloat16', shape: [5], data: bits }, 'x.npy');
  const header = new TextDecoder('latin1').decode(bytes.subarray(10, 60));
  t.match(header, /'descr': '<u2'/, 'stored as unsigned 16-bit integers');
  const back = readNpy(bytes, 'x.npy');
  t.equal(back.dtype, 'bfloat16');
  t.same(Array.from(back.data), Array.from(bits));
});

t.test('compare: a bfloat16 exact fixture wants the value rounded to bfloat16, bound uses u = 2^-8', async (t) => {
  const base = { output: 'dw' as const, shape: [1], dtype: 'bfloat16' as const, accumulationLength: 4, magnitude: new Float64Array([4]) };
  const expected = new Float64Array([1 + 2 ** -8]); // rounds to 1
  t.equal(compareOutput({ ...base, rule: 'exact', expected, got: new Float64Array([1]) }).failingElements, 0);
  t.equal(compareOutput({ ...base, rule: 'exact', expected, got: new Float64Array([1 + 2 ** -7]) }).failingElements, 1);
  // bound = (gamma_4(2^-8) + 2 gamma_4(2^-53)) * 4 + 2^-8 * |e| + 5 * 2^-133 ~ 0.0665: 1.0625 is 0.0586 away.
  const got = new Float64Array([1.0625]);
  const metrics = compareOutput({ ...base, rule: 'bound', expected: new Float64Array([1.0625 - 0.0586]), got });
  t.equal(metrics.failingElements, 0);
  const far = compareOutput({ ...base, rule: 'bound', expected: new Float64Array([1.0625 - 0.07]), got });
  t.equal(far.failingElements, 1);
});
