/**
 * Fast rounding of float64 values to float16 and bfloat16, for the self-test
 * kernels that round after every operation (src/dtype.ts's bit-exact encoder is
 * ~60x slower, which matters over millions of operations). Both round to
 * nearest, ties to even; test/conformance/self-test.test.ts checks
 * roundToFloat16 against src/dtype.ts on every float16 value, midpoint and
 * neighbour of a midpoint.
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

const float32Scratch = new Float32Array(1);
const float32Bits = new Uint32Array(float32Scratch.buffer);

/** Round to bfloat16 (8 significand bits), nearest even, through the float32 bit pattern. */
export function roundToBfloat16(value: number): number {
  if (Number.isNaN(value)) return value;
  float32Scratch[0] = value;
  const bits = float32Bits[0];
  float32Bits[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
  return float32Scratch[0];
}
