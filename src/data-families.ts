/**
 * Data families: how x, w and dy are drawn for a fixture. Each family names the
 * rule its outputs are judged by (exact or bound).
 *
 * All values are representable in the fixture's dtype and, for float64 fixtures,
 * in float32 too, so that the float32 witnesses see exactly the same inputs.
 */
import { DTYPE_INFO, isBits16, roundToDtype } from './dtype.js';
import { ConformanceError } from './errors.js';
import type { Conv2dGeometry } from './geometry.js';
import type { Prng } from './prng.js';
import type { Conv2dParams, DataFamily, Dtype } from './types.js';

export interface FamilyData {
  x: Float64Array;
  w: Float64Array;
  dy: Float64Array;
}

export interface FamilyDefinition {
  family: DataFamily;
  rule: 'exact' | 'bound';
  description: string;
  /** Sub-variants of the family (each a fixture of its own); [''] when none. */
  variants(params: Conv2dParams): string[];
  /** Draw the data. `attempt` > 0 asks for smaller values (used by `exact` until its proof holds). */
  draw(context: DrawContext): FamilyData;
}

export interface DrawContext {
  prng: Prng;
  geometry: Conv2dGeometry;
  dtype: Dtype;
  variant: string;
  attempt: number;
}

/** Round a drawn value to what is stored: the dtype (float16, bfloat16), and float32 for float64 fixtures (see above). */
function storable(value: number, dtype: Dtype): number {
  return isBits16(dtype) ? roundToDtype(value, dtype) : Math.fround(value);
}

function fill(length: number, draw: (index: number) => number, dtype: Dtype): Float64Array {
  const values = new Float64Array(length);
  for (let index = 0; index < length; index++) values[index] = storable(draw(index), dtype);
  return values;
}

function sizes(geometry: Conv2dGeometry): { x: number; w: number; dy: number } {
  const product = (shape: number[]) => shape.reduce((total, size) => total * size, 1);
  return { x: product(geometry.xShape), w: product(geometry.wShape), dy: product(geometry.dyShape) };
}

function normalData({ prng, geometry, dtype }: DrawContext): FamilyData {
  const count = sizes(geometry);
  return {
    x: fill(count.x, () => prng.normal(), dtype),
    w: fill(count.w, () => prng.normal(), dtype),
    dy: fill(count.dy, () => prng.normal(), dtype),
  };
}

/** Integer ranges for `exact`, smaller at each attempt: [x range, w range, dy range, dy density]. */
const EXACT_RANGES: Array<[number, number, number, number]> = [
  [3, 3, 2, 0.5],
  [2, 2, 1, 0.5],
  [1, 1, 1, 0.25],
  [1, 1, 1, 0.05],
];
export const EXACT_ATTEMPTS = EXACT_RANGES.length;

/**
 * Is every partial sum of every output exactly representable? All values are
 * integers, so every product and partial sum is an integer, and any partial sum
 * (in any order) is at most the element's magnitude M (sum of |products|). An
 * integer of absolute value <= 2^p is representable with a p-bit significand.
 * So max(M) <= 2^p proves exactness for every summation order.
 */
export function exactnessHolds(maxMagnitude: number, dtype: Dtype): boolean {
  const precisionBits = -Math.log2(DTYPE_INFO[dtype].unitRoundoff); // u = 2^-p for a p-bit significand
  return maxMagnitude <= 2 ** precisionBits;
}

/** special needs stride 1, dilation 1 and no padding: see the rule for special values in docs/tolerance.md. */
export function specialEligible(params: Conv2dParams): boolean {
  const { stride, dilation, pads } = params;
  return stride[0] === 1 && stride[1] === 1 && dilation[0] === 1 && dilation[1] === 1 && pads.top + pads.bottom + pads.left + pads.right === 0;
}

export const DATA_FAMILY_DEFINITIONS: Record<DataFamily, FamilyDefinition> = {
  exact: {
    family: 'exact',
    rule: 'exact',
    description:
      'small integers (x, w, dy in small ranges, dy sparsified) such that every partial sum is exactly representable: any correct implementation matches bit for bit',
    variants: () => [''],
    draw: ({ prng, geometry, dtype, attempt }) => {
      const [xRange, wRange, dyRange, density] = EXACT_RANGES[Math.min(attempt, EXACT_RANGES.length - 1)];
      const count = sizes(geometry);
      return {
        x: fill(count.x, () => prng.integer(-xRange, xRange), dtype),
        w: fill(count.w, () => prng.integer(-wRange, wRange), dtype),
        dy: fill(count.dy, () => (prng.nextFloat() < density ? prng.integer(-dyRange, dyRange) : 0), dtype),
      };
    },
  },
  normal: {
    family: 'normal',
    rule: 'bound',
    description: 'N(0,1) samples rounded to the dtype: the realistic case, judged with the error bound',
    variants: () => [''],
    draw: normalData,
  },
  wide: {
    family: 'wide',
    rule: 'bound',
    description: 'N(0,1) samples scaled by random powers of two, so magnitudes spread over several orders',
    variants: () => [''],
    draw: ({ prng, geometry, dtype }) => {
      const spread = dtype === 'float16' ? 3 : 8;
      const count = sizes(geometry);
      const sample = () => prng.normal() * 2 ** prng.integer(-spread, spread);
      return { x: fill(count.x, sample, dtype), w: fill(count.w, sample, dtype), dy: fill(count.dy, sample, dtype) };
    },
  },
  cancel: {
    family: 'cancel',
    rule: 'bound',
    description:
      'large terms that nearly cancel: x is a large offset plus noise, w alternates sign over the taps, dy alternates sign over (batch + output row); results are small next to the sum of |products|',
    variants: () => [''],
    draw: ({ prng, geometry, dtype }) => {
      const scale = dtype === 'float16' ? 1 / 16 : 1;
      const [offsetX, offsetW, offsetDy] = [256 * scale, 16 * scale, 8 * scale];
      const { kernelHeight, kernelWidth, outHeight, outWidth, outChannels } = geometry;
      const count = sizes(geometry);
      const x = fill(count.x, () => offsetX + prng.normal(), dtype);
      const w = fill(
        count.w,
        (index) => {
          const kernelCol = index % kernelWidth;
          const kernelRow = Math.floor(index / kernelWidth) % kernelHeight;
          return ((kernelRow + kernelCol) % 2 === 0 ? offsetW : -offsetW) + prng.normal() * scale;
        },
        dtype,
      );
      const dy = fill(
        count.dy,
        (index) => {
          const outRow = Math.floor(index / outWidth) % outHeight;
          const batch = Math.floor(index / (outWidth * outHeight * outChannels));
          return ((batch + outRow) % 2 === 0 ? offsetDy : -offsetDy) + prng.normal() * scale;
        },
        dtype,
      );
      return { x, w, dy };
    },
  },
  'onehot-dy': {
    family: 'onehot-dy',
    rule: 'exact',
    description:
      'dy is zero but for a single 1 at the last output position (bottom-right, where tails and after-pads show) of one channel of one image: isolates one receptive field (each output element is then one product, so exact)',
    variants: () => [''],
    draw: (context) => {
      const data = normalData(context);
      const { batch, outChannels, outHeight, outWidth } = context.geometry;
      data.dy.fill(0);
      const image = context.prng.integer(0, batch - 1);
      const outChannel = context.prng.integer(0, outChannels - 1);
      data.dy[((image * outChannels + outChannel) * outHeight + outHeight - 1) * outWidth + outWidth - 1] = 1;
      return data;
    },
  },
  zeros: {
    family: 'zeros',
    rule: 'exact',
    description: 'dy is all zeros: every gradient must be exactly zero',
    variants: () => [''],
    draw: (context) => {
      const data = normalData(context);
      data.dy.fill(0);
      return data;
    },
  },
  special: {
    family: 'special',
    rule: 'bound',
    description:
      'NaN, infinities and signed zeros, only in unpadded, unstrided, undilated cases, where every correct implementation computes the same products (see README: special values)',
    variants: (params) => (specialEligible(params) ? ['nan-dy', 'nan-x', 'inf-dy', 'inf-x', 'signed-zero'] : []),
    draw: (context) => {
      const { prng, variant } = context;
      const data = normalData(context);
      const { inChannels, inHeight, inWidth, outChannels, outHeight, outWidth } = context.geometry;
      const dyChannelSize = outHeight * outWidth;
      const xChannelSize = inHeight * inWidth;
      if (variant === 'nan-dy') {
        data.dy[prng.integer(0, data.dy.length - 1)] = NaN;
      } else if (variant === 'nan-x') {
        data.x[prng.integer(0, data.x.length - 1)] = NaN;
      } else if (variant === 'inf-dy') {
        const first = prng.integer(0, data.dy.length - 1);
        data.dy[first] = Infinity;
        // -Inf in another output channel when there is one, so the two meet only in dx.
        const channelOffset = outChannels > 1 ? dyChannelSize : 0;
        const second = (first + channelOffset + (channelOffset === 0 ? 1 : 0)) % data.dy.length;
        data.dy[second] = -Infinity;
      } else if (variant === 'inf-x') {
        const first = prng.integer(0, data.x.length - 1);
        data.x[first] = Infinity;
        if (inChannels > 1) data.x[(first + xChannelSize) % data.x.length] = -Infinity;
      } else if (variant === 'signed-zero') {
        for (const values of [data.x, data.w, data.dy]) {
          for (let index = 0; index < values.length; index++) if (prng.nextFloat() < 0.4) values[index] = prng.nextFloat() < 0.5 ? -0 : 0;
        }
      } else {
        throw new ConformanceError('E_GENERATOR', `special: unknown variant '${variant}'`, { variant });
      }
      return data;
    },
  },
};
