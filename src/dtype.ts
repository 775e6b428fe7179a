/**
 * Element types: their floating-point constants, rounding of float64 values to
 * them, and conversion between typed arrays. float16 is carried as raw binary16
 * bits in a Uint16Array (Node 20 has no Float16Array); bfloat16 likewise as its
 * 16 bits (the top half of a float32: sign, 8 exponent bits with bias 127,
 * 7 fraction bits), stored in .npy files as `<u2` since numpy has no bfloat16.
 */
import type { Dtype, TensorData } from './types.js';

export interface DtypeInfo {
  dtype: Dtype;
  /** u = 2^-p with p the significand precision (bits including the implicit one). */
  unitRoundoff: number;
  /** Spacing of the subnormals (smallest positive value): the absolute error floor of one rounding near zero. */
  underflowSpacing: number;
  maxFinite: number;
  bytes: number;
  /** numpy's dtype descriptor (bfloat16: its bits as unsigned 16-bit integers). */
  npyDescr: '<f2' | '<f4' | '<f8' | '<u2';
}

export const DTYPE_INFO: Record<Dtype, DtypeInfo> = {
  float16: { dtype: 'float16', unitRoundoff: 2 ** -11, underflowSpacing: 2 ** -24, maxFinite: 65504, bytes: 2, npyDescr: '<f2' },
  float32: { dtype: 'float32', unitRoundoff: 2 ** -24, underflowSpacing: 2 ** -149, maxFinite: 3.4028234663852886e38, bytes: 4, npyDescr: '<f4' },
  float64: { dtype: 'float64', unitRoundoff: 2 ** -53, underflowSpacing: 2 ** -1074, maxFinite: Number.MAX_VALUE, bytes: 8, npyDescr: '<f8' },
  // 8 significand bits: u = 2^-8; smallest subnormal 2^-126 * 2^-7; largest finite (2 - 2^-7) * 2^127.
  bfloat16: { dtype: 'bfloat16', unitRoundoff: 2 ** -8, underflowSpacing: 2 ** -133, maxFinite: (2 - 2 ** -7) * 2 ** 127, bytes: 2, npyDescr: '<u2' },
};

/** The two 16-bit formats, stored as their bits in a Uint16Array. */
export type Bits16Dtype = 'float16' | 'bfloat16';

export function isBits16(dtype: Dtype): dtype is Bits16Dtype {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/** Bit layout of a binary format with an implicit leading significand bit. */
interface BitLayout {
  fractionBits: number;
  exponentBias: number;
  /** All-ones exponent field. */
  maxExponentField: number;
}

const FLOAT16_LAYOUT: BitLayout = { fractionBits: 10, exponentBias: 15, maxExponentField: 0x1f };
const BFLOAT16_LAYOUT: BitLayout = { fractionBits: 7, exponentBias: 127, maxExponentField: 0xff };

const scratchFloat32 = new Float32Array(1);
const scratchBits32 = new Uint32Array(scratchFloat32.buffer);

/** Round a float64 to the nearest binary16 (ties to even), returned as its 16 bits. */
export function float64ToFloat16Bits(value: number): number {
  return float64ToBits16(value, FLOAT16_LAYOUT);
}

/** Round a float64 to the nearest bfloat16 (ties to even, directly: no double rounding through float32), returned as its 16 bits. */
export function float64ToBfloat16Bits(value: number): number {
  return float64ToBits16(value, BFLOAT16_LAYOUT);
}

/**
 * Round a float64 to a 16-bit format (sign, exponent field, `fractionBits` fraction bits),
 * nearest with ties to even; overflow gives ±Infinity, NaN the quiet NaN with the top fraction bit.
 */
function float64ToBits16(value: number, layout: BitLayout): number {
  const { fractionBits, exponentBias, maxExponentField } = layout;
  const exponentShift = fractionBits;
  const infinityBits = maxExponentField << exponentShift;
  if (Number.isNaN(value)) return infinityBits | (1 << (fractionBits - 1));
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  const minNormalExponent = 1 - exponentBias;
  const maxExponent = maxExponentField - 1 - exponentBias;
  // Largest finite plus half an ulp at the top binade, (2 - 2^-(f+1)) * 2^emax: it and above round to infinity.
  if (magnitude >= (2 - 2 ** -(fractionBits + 1)) * 2 ** maxExponent) return sign | infinityBits;
  const subnormalSpacing = 2 ** (minNormalExponent - fractionBits);
  if (magnitude < 2 ** minNormalExponent) {
    // Subnormal range: value / spacing rounded to an integer count of subnormal steps.
    const steps = roundHalfEven(magnitude / subnormalSpacing);
    return sign | steps; // steps may reach 2^f, which is exactly the smallest normal's bits.
  }
  // log2 can be off by one near powers of two; correct it.
  let e = Math.floor(Math.log2(magnitude));
  if (2 ** e > magnitude) e -= 1;
  if (2 ** (e + 1) <= magnitude) e += 1;
  const significand = roundHalfEven((magnitude / 2 ** e - 1) * 2 ** fractionBits);
  // A significand of 2^f carries into the exponent, which the bit layout does by addition.
  return sign | (((e + exponentBias) << exponentShift) + significand);
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The float64 value of binary16 bits. */
export function float16BitsToFloat64(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bfloat16Scratch = new Uint32Array(1);
const bfloat16ScratchFloat = new Float32Array(bfloat16Scratch.buffer);

/** The float64 value of bfloat16 bits (the top 16 bits of a float32). */
export function bfloat16BitsToFloat64(bits: number): number {
  bfloat16Scratch[0] = (bits & 0xffff) << 16;
  return bfloat16ScratchFloat[0];
}

/** Round a float64 to a 16-bit dtype's bits. */
export function float64ToBits(value: number, dtype: Bits16Dtype): number {
  return dtype === 'float16' ? float64ToFloat16Bits(value) : float64ToBfloat16Bits(value);
}

/** Decode a 16-bit dtype's bits. */
export function bitsToFloat64(bits: number, dtype: Bits16Dtype): number {
  return dtype === 'float16' ? float16BitsToFloat64(bits) : bfloat16BitsToFloat64(bits);
}

/** Round a float64 value to the nearest value of the dtype, returned as a float64. */
export function roundToDtype(value: number, dtype: Dtype): number {
  if (dtype === 'float64') return value;
  if (dtype === 'float32') return Math.fround(value);
  return bitsToFloat64(float64ToBits(value, dtype), dtype);
}

/** Allocate a typed array of the dtype's storage type. */
export function allocateData(dtype: Dtype, length: number): TensorData {
  if (dtype === 'float64') return new Float64Array(length);
  if (dtype === 'float32') return new Float32Array(length);
  return new Uint16Array(length);
}

/** Decode stored elements (float16 and bfloat16 bits included) into float64 values. */
export function toFloat64Array(data: TensorData, dtype: Dtype): Float64Array {
  if (isBits16(dtype)) {
    const result = new Float64Array(data.length);
    for (let index = 0; index < data.length; index++) result[index] = bitsToFloat64(data[index], dtype);
    return result;
  }
  return Float64Array.from(data);
}

/** Encode float64 values into the dtype's storage, rounding to nearest even. */
export function fromFloat64Array(values: Float64Array, dtype: Dtype): TensorData {
  if (dtype === 'float64') return Float64Array.from(values);
  if (dtype === 'float32') return Float32Array.from(values);
  const bits = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) bits[index] = float64ToBits(values[index], dtype);
  return bits;
}

/** The typed-array constructor that stores a dtype. */
export function expectedArrayType(dtype: Dtype): string {
  return dtype === 'float64' ? 'Float64Array' : dtype === 'float32' ? 'Float32Array' : 'Uint16Array';
}

/**
 * Distance in units in the last place between two values of a dtype: the
 * number of representable values between them (0 for equal, -0 == +0).
 * Both values must already be representable in the dtype.
 */
export function ulpDistance(a: number, b: number, dtype: Dtype): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  if (dtype === 'float64') {
    // The bit patterns of ordinary doubles exceed 2^53: subtract them as BigInts, then convert.
    const difference = orderedIndex64(a) - orderedIndex64(b);
    return Number(difference < 0n ? -difference : difference);
  }
  return Math.abs(orderedIndex(a, dtype) - orderedIndex(b, dtype));
}

const scratchFloat64 = new Float64Array(1);
const scratchBigInt = new BigInt64Array(scratchFloat64.buffer);

/** Map a value to an integer that increases with the value (0 for ±0). */
function orderedIndex(value: number, dtype: Dtype): number {
  if (isBits16(dtype)) {
    const bits = float64ToBits(value, dtype);
    return bits & 0x8000 ? -(bits & 0x7fff) : bits;
  }
  if (dtype === 'float32') {
    scratchFloat32[0] = value;
    const bits = scratchBits32[0];
    return bits & 0x80000000 ? -(bits & 0x7fffffff) : bits;
  }
  return Number(orderedIndex64(value));
}

/** orderedIndex for float64, exact as a BigInt (the patterns of most doubles exceed 2^53). */
function orderedIndex64(value: number): bigint {
  scratchFloat64[0] = value;
  const bits = scratchBigInt[0];
  return bits < 0n ? -(bits & 0x7fffffffffffffffn) : bits;
}
