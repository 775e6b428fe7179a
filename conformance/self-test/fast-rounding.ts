/**
 * Fast rounding of float64 values to float16 and bfloat16, for the self-test
 * kernels that round after every operation (src/dtype.ts's bit-exact encoder is
 * ~60x slower, which matters over millions of operations). Both round to
 * nearest, ties to even; test/conformance/self-test.test.ts checks
 * roundToFloat16 against src/dtype.ts on every float16 value, midpoint and
 * neighbour of a midpoint, and roundToBfloat16 likewise on every bfloat16 value.
 */

/** Adding and subtracting 1.5*2^52 rounds a double of magnitude < 2^51 to an integer, ties to even. */
const INTEGER_ROUNDER = 1.5 * 2 ** 52;
const float64Scratch = new Float64Array(1);
const float64HighWord = new Uint32Array(float64Scratch.buffer, 4, 1);

/**
 * float16 spacing for each float64 biased exponent: 2^(e - 10) for a value in
 * [2^e, 2^(e+1)), never below the subnormal spacing 2^-24.
 */
const FLOAT16_SPACING = new Float64Array(2048);
for (let biased = 0; biased < 2048; biased++) FLOAT16_SPACING[biased] = 2 ** (Math.max(biased - 1023, -14) - 10);

/** Round to the nearest float16 value (returned as a float64); overflow gives ±Infinity. */
export function roundToFloat16(value: number): number {
  // 65520 and above (half a spacing past 65504) round to infinity; NaN and ±Inf pass through.
  if (!(Math.abs(value) < 65520)) return Number.isNaN(value) ? value : value > 0 ? Infinity : -Infinity;
  float64Scratch[0] = value;
  const spacing = FLOAT16_SPACING[(float64HighWord[0] >>> 20) & 0x7ff];
  // value / spacing is exact (a power of two) and below 2^12 in magnitude.
  const rounded = (value / spacing + INTEGER_ROUNDER - INTEGER_ROUNDER) * spacing;
  return rounded === 0 ? 0 * value : rounded; // keep the sign of zero
}

/** bfloat16 spacing for each float64 biased exponent: 2^(e - 7), never below the subnormal spacing 2^-133. */
const BFLOAT16_SPACING = new Float64Array(2048);
for (let biased = 0; biased < 2048; biased++) BFLOAT16_SPACING[biased] = 2 ** (Math.max(biased - 1023, -126) - 7);
/** Half a spacing past the largest finite bfloat16, (2 - 2^-8) * 2^127: it and above round to infinity. */
const BFLOAT16_OVERFLOW = (2 - 2 ** -8) * 2 ** 127;

/**
 * Round to the nearest bfloat16 (8 significand bits) directly from the float64, ties to even
 * (no double rounding through float32); overflow gives ±Infinity.
 */
export function roundToBfloat16(value: number): number {
  if (!(Math.abs(value) < BFLOAT16_OVERFLOW)) return Number.isNaN(value) ? value : value > 0 ? Infinity : -Infinity;
  float64Scratch[0] = value;
  const spacing = BFLOAT16_SPACING[(float64HighWord[0] >>> 20) & 0x7ff];
  // value / spacing is exact (a power of two) and below 2^9 in magnitude.
  const rounded = (value / spacing + INTEGER_ROUNDER - INTEGER_ROUNDER) * spacing;
  return rounded === 0 ? 0 * value : rounded;
}
