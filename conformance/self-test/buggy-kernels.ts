/**
 * One readable Conv2d backward kernel with a catalog of realistic bugs, each a
 * named, commented deviation. `kernelAdapter(bug)` builds an adapter; with
 * bug 'none' it is a correct implementation (the scatter form of the oracle,
 * computed in the fixture's own precision).
 *
 * The correct kernel (NCHW / OIHW, g = floor(o / (Cout/G)), c = g*C/G + c'):
 *   for each (n, o, oh, ow) and each tap (c', kh, kw) with
 *     ih = oh*SH + kh*DH - top,  iw = ow*SW + kw*DW - left  inside the input:
 *       dx[n, c, ih, iw] += dy[n, o, oh, ow] * w[o, c', kh, kw]
 *       dw[o, c', kh, kw] += dy[n, o, oh, ow] * x[n, c, ih, iw]
 *   db[o] += dy[n, o, oh, ow]
 * Every product and every sum is rounded to the fixture's dtype (float16 is
 * genuine half-precision arithmetic, float64 plain JS numbers).
 *
 * Each bug changes one of: the per-output index constants (stride, dilation,
 * pads), the channel mapping of groups, the weight index, the output size, the
 * arithmetic (rounding), the handling of special values, or the buffers' life
 * cycle. The bugs are in the spirit of real ones seen in hand-written kernels.
 */
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { effectiveKernelSize } from '../../src/geometry.js';
import type { Adapter, BackwardRequest, BackwardResult, Dtype } from '../../src/types.js';
import { roundToBfloat16, roundToFloat16 } from './fast-rounding.js';

/** Every bug the kernel can carry, with what it does wrong. */
export const KERNEL_BUGS = {
  none: 'no bug: the correct kernel',
  'strides-swapped': 'stride[0] is used along the width and stride[1] along the height',
  'dilation-ignored-in-dw': 'dw reads x as if dilation were 1 (dx is right)',
  'dilation-ignored-in-dx': 'dx scatters as if dilation were 1 (dw is right)',
  'groups-interleaved': 'output channel o is put in group o % G instead of floor(o / (Cout/G)) (channel-shuffle order)',
  'group-offset-uses-out-channels': 'the first input channel of group g is taken as g*Cout/G instead of g*C/G',
  'pads-swapped': 'pads read in the wrong order: the left pad is used as the top pad and the top pad as the left pad',
  'symmetric-pads-assumed': 'the output size is computed as if bottom = top and right = left (bottom/right pads ignored)',
  'output-size-ceil': 'the output size is computed with ceil instead of floor, so it walks one row/column too far',
  'pads-off-by-one': 'a non-zero pad is applied as pad - 1',
  'kernel-not-flipped-in-dx': 'dx is the correlation of dy with w instead of the convolution (the kernel is not rotated by 180 degrees)',
  'dw-kernel-transposed': 'dw is written at [kw, kh] instead of [kh, kw] (kernel rows and columns swapped)',
  'dx-assigned-not-accumulated': 'dx elements are assigned (=) instead of accumulated (+=), so overlapping windows overwrite each other',
  'dx-drops-partial-edge-windows': 'dx ignores the windows that reach into the bottom/right padding',
  'dx-tail-not-zeroed': 'dx comes from a reused buffer and is zeroed only up to the last row/column the last window reaches; the tail keeps stale values',
  'dw-last-batch-only': 'dw is reset at each batch element, so only the last one is kept',
  'db-first-batch-only': 'db is summed over the first batch element only',
  'dw-not-zeroed-between-calls': 'dw accumulates into a cached buffer that is not cleared between calls',
  'inputs-rounded-to-bfloat16': 'x, w and dy are rounded to bfloat16 before computing (a reduced-precision fast path)',
  'float16-accumulation': 'products and sums are rounded to float16 whatever the dtype',
  'float64-computed-in-float32': 'float64 fixtures are computed in float32 arithmetic',
  'subnormals-flushed': 'subnormal inputs and results are flushed to zero (FTZ/DAZ)',
  'nan-treated-as-zero': 'NaN inputs are replaced by 0 (a `value || 0` style default)',
  'infinity-saturated': 'infinite inputs are clamped to the largest finite value (a saturating cast)',
  'padding-materialised': 'x is padded with explicit zeros and dw takes every tap, so dy = ±Inf times a padding zero gives NaN',
  'dx-last-tile-skipped': 'for inputs wider than 32, dx is scattered in 32-wide column tiles counted with floor(W / 32): the last, partial tile is skipped',
  'large-kernel-dw-transposed': 'kernels of 49 taps or more (7x7 and up) take a separate path that writes dw at [kw, kh] (kernel rows and columns swapped)',
  'batch-remainder-dropped': 'the batch loop is unrolled by 4 for batches larger than 4 and the remainder (N mod 4 images) is dropped',
} as const;

export type KernelBug = keyof typeof KERNEL_BUGS;

/** Per-output index constants: input row of output o and tap k is o*stride + k*dilation - pad. */
interface AxisConstants {
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/** The rounding of one arithmetic result in a dtype. */
function roundingFor(dtype: Dtype): (value: number) => number {
  if (dtype === 'float32') return Math.fround;
  if (dtype === 'float16') return roundToFloat16;
  if (dtype === 'bfloat16') return roundToBfloat16;
  return (value) => value;
}

/** Smallest positive normal number of each dtype (values below it are subnormal). */
const SMALLEST_NORMAL: Record<Dtype, number> = { float16: 2 ** -14, float32: 2 ** -126, float64: 2 ** -1022, bfloat16: 2 ** -126 };
const LARGEST_FINITE: Record<Dtype, number> = { float16: 65504, float32: 3.4028234663852886e38, float64: Number.MAX_VALUE, bfloat16: (2 - 2 ** -7) * 2 ** 127 };

/** Build an adapter (NCHW / OIHW, float16/32/64) running the kernel with one bug. */
export function kernelAdapter(bug: KernelBug, name = `kernel-${bug}`): Adapter {
  // Buffers that outlive a call: only the two life-cycle bugs use them.
  const cachedDw = new Map<number, Float64Array>();
  let dxPool = new Float64Array(0);

  function decode(data: BackwardRequest['x']['data'], dtype: Dtype): Float64Array {
    const values = toFloat64Array(data, dtype);
    for (let index = 0; index < values.length; index++) {
      let value = values[index];
      // BUG nan-treated-as-zero: `value || 0` turns NaN (and -0) into 0.
      if (bug === 'nan-treated-as-zero') value = value || 0;
      // BUG infinity-saturated: a saturating conversion clamps ±Inf to ±max.
      if (bug === 'infinity-saturated') value = Math.min(LARGEST_FINITE[dtype], Math.max(-LARGEST_FINITE[dtype], value));
      // BUG inputs-rounded-to-bfloat16: the inputs go through bfloat16.
      if (bug === 'inputs-rounded-to-bfloat16') value = roundToBfloat16(value);
      // BUG subnormals-flushed: denormals-are-zero on the inputs.
      if (bug === 'subnormals-flushed' && Math.abs(value) < SMALLEST_NORMAL[dtype]) value = 0;
      values[index] = value;
    }
    return values;
  }

  function conv2dBackward({ x: xTensor, w: wTensor, dy: dyTensor, params }: BackwardRequest): BackwardResult {
    const dtype = xTensor.dtype;
    const x = decode(xTensor.data, dtype);
    const w = decode(wTensor.data, dtype);
    const dy = decode(dyTensor.data, dtype);
    const [batchSize, inChannels, inHeight, inWidth] = xTensor.shape;
    const [outChannels, inChannelsPerGroup, kernelHeight, kernelWidth] = wTensor.shape;
    const { groups, pads } = params;
    const outChannelsPerGroup = outChannels / groups;

    // The arithmetic: round every product and sum to the dtype.
    let round = roundingFor(dtype);
    // BUG float16-accumulation: everything is rounded to float16.
    if (bug === 'float16-accumulation') round = roundToFloat16;
    // BUG float64-computed-in-float32: a float32-only code path serves float64 too.
    if (bug === 'float64-computed-in-float32' && dtype === 'float64') round = Math.fround;
    if (bug === 'subnormals-flushed') {
      // BUG subnormals-flushed: flush-to-zero on every result.
      const inner = round;
      round = (value) => {
        const rounded = inner(value);
        return Math.abs(rounded) < SMALLEST_NORMAL[dtype] ? 0 * rounded : rounded;
      };
    }

    // The output size: dy's shape gives it.
    let [, , outHeight, outWidth] = dyTensor.shape;
    const effectiveHeight = effectiveKernelSize(kernelHeight, params.dilation[0]);
    const effectiveWidth = effectiveKernelSize(kernelWidth, params.dilation[1]);
    if (bug === 'symmetric-pads-assumed') {
      // BUG symmetric-pads-assumed: the size is recomputed with 2*top and 2*left.
      outHeight = Math.floor((inHeight + 2 * pads.top - effectiveHeight) / params.stride[0]) + 1;
      outWidth = Math.floor((inWidth + 2 * pads.left - effectiveWidth) / params.stride[1]) + 1;
    }
    if (bug === 'output-size-ceil') {
      // BUG output-size-ceil: ceil where the formula has floor.
      outHeight = Math.ceil((inHeight + pads.top + pads.bottom - effectiveHeight) / params.stride[0]) + 1;
      outWidth = Math.ceil((inWidth + pads.left + pads.right - effectiveWidth) / params.stride[1]) + 1;
    }

    // The index constants, one set for dx and one for dw (they differ only under a bug).
    const correct: AxisConstants = {
      strideHeight: params.stride[0],
      strideWidth: params.stride[1],
      dilationHeight: params.dilation[0],
      dilationWidth: params.dilation[1],
      padTop: pads.top,
      padLeft: pads.left,
    };
    let shared = correct;
    // BUG strides-swapped.
    if (bug === 'strides-swapped') shared = { ...correct, strideHeight: params.stride[1], strideWidth: params.stride[0] };
    // BUG pads-swapped: left used as top, top as left.
    if (bug === 'pads-swapped') shared = { ...correct, padTop: pads.left, padLeft: pads.top };
    // BUG pads-off-by-one.
    if (bug === 'pads-off-by-one') shared = { ...correct, padTop: Math.max(0, pads.top - 1), padLeft: Math.max(0, pads.left - 1) };
    let forDx = shared;
    let forDw = shared;
    // BUG dilation-ignored-in-dx / -in-dw.
    if (bug === 'dilation-ignored-in-dx') forDx = { ...shared, dilationHeight: 1, dilationWidth: 1 };
    if (bug === 'dilation-ignored-in-dw') forDw = { ...shared, dilationHeight: 1, dilationWidth: 1 };

    /** First input channel read by an output channel. */
    const groupBase = (outChannel: number): number => {
      // BUG groups-interleaved: o % G is the channel-shuffle order, not the blocked one.
      if (bug === 'groups-interleaved') return (outChannel % groups) * inChannelsPerGroup;
      const group = Math.floor(outChannel / outChannelsPerGroup);
      // BUG group-offset-uses-out-channels: Cout/G where C/G belongs (out of range reads give NaN).
      if (bug === 'group-offset-uses-out-channels') return group * outChannelsPerGroup;
      return group * inChannelsPerGroup;
    };
    const wIndexOf = (outChannel: number, channelInGroup: number, kernelRow: number, kernelCol: number): number =>
      ((outChannel * inChannelsPerGroup + channelInGroup) * kernelHeight + kernelRow) * kernelWidth + kernelCol;

    // Accumulators.
    const dxLength = xTensor.data.length;
    let dx: Float64Array;
    if (bug === 'dx-tail-not-zeroed') {
      // BUG dx-tail-not-zeroed: a pooled buffer (fresh memory poisoned with NaN, as a
      // debug allocator would) is cleared only where the windows reach.
      if (dxPool.length < dxLength) {
        const grown = new Float64Array(dxLength).fill(NaN);
        grown.set(dxPool);
        dxPool = grown;
      }
      dx = dxPool.subarray(0, dxLength);
      const lastRow = Math.min(inHeight - 1, (outHeight - 1) * correct.strideHeight + (kernelHeight - 1) * correct.dilationHeight - correct.padTop);
      const lastCol = Math.min(inWidth - 1, (outWidth - 1) * correct.strideWidth + (kernelWidth - 1) * correct.dilationWidth - correct.padLeft);
      for (let plane = 0; plane < batchSize * inChannels; plane++) {
        for (let row = 0; row <= lastRow; row++) dx.fill(0, (plane * inHeight + row) * inWidth, (plane * inHeight + row) * inWidth + lastCol + 1);
      }
    } else {
      dx = new Float64Array(dxLength);
    }
    let dw: Float64Array;
    if (bug === 'dw-not-zeroed-between-calls') {
      // BUG dw-not-zeroed-between-calls: the cache is reused as is.
      dw = cachedDw.get(wTensor.data.length) ?? new Float64Array(wTensor.data.length);
      cachedDw.set(wTensor.data.length, dw);
    } else {
      dw = new Float64Array(wTensor.data.length);
    }
    const db = new Float64Array(outChannels);

    // BUG batch-remainder-dropped: an unrolled-by-4 loop for N > 4 runs floor(N/4)*4 images, no remainder loop.
    const batchesRun = bug === 'batch-remainder-dropped' && batchSize > 4 ? Math.floor(batchSize / 4) * 4 : batchSize;
    // BUG dx-last-tile-skipped: columns from floor(W/32)*32 on form the tile that is never scattered (W > 32 only).
    const dxColumnEnd = bug === 'dx-last-tile-skipped' && inWidth > 32 ? Math.floor(inWidth / 32) * 32 : inWidth;
    // BUG large-kernel-dw-transposed: the large-kernel path stores dw at [kw, kh].
    const dwTransposed = bug === 'dw-kernel-transposed' || (bug === 'large-kernel-dw-transposed' && kernelHeight * kernelWidth >= 49);
    for (let batch = 0; batch < batchesRun; batch++) {
      // BUG dw-last-batch-only: dw = (this batch's sum) instead of dw += it.
      if (bug === 'dw-last-batch-only') dw.fill(0);
      for (let outChannel = 0; outChannel < outChannels; outChannel++) {
        const inChannelBase = groupBase(outChannel);
        for (let outRow = 0; outRow < outHeight; outRow++) {
          for (let outCol = 0; outCol < outWidth; outCol++) {
            const gradient = dy[((batch * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol];
            // BUG db-first-batch-only.
            if (bug !== 'db-first-batch-only' || batch === 0) db[outChannel] = round(db[outChannel] + gradient);
            // BUG dx-drops-partial-edge-windows: a window whose last tap lies past the bottom/right edge is skipped for dx.
            const dropForDx =
              bug === 'dx-drops-partial-edge-windows' &&
              (outRow * forDx.strideHeight + (kernelHeight - 1) * forDx.dilationHeight - forDx.padTop >= inHeight ||
                outCol * forDx.strideWidth + (kernelWidth - 1) * forDx.dilationWidth - forDx.padLeft >= inWidth);
            for (let channelInGroup = 0; channelInGroup < inChannelsPerGroup; channelInGroup++) {
              const inChannel = inChannelBase + channelInGroup;
              const plane = (batch * inChannels + inChannel) * inHeight;
              for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
                for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                  const wIndex = wIndexOf(outChannel, channelInGroup, kernelRow, kernelCol);

                  // dx: scatter dy * w into the input element this tap reads.
                  const dxRow = outRow * forDx.strideHeight + kernelRow * forDx.dilationHeight - forDx.padTop;
                  const dxCol = outCol * forDx.strideWidth + kernelCol * forDx.dilationWidth - forDx.padLeft;
                  if (!dropForDx && dxRow >= 0 && dxRow < inHeight && dxCol >= 0 && dxCol < dxColumnEnd) {
                    // BUG kernel-not-flipped-in-dx: the tap mirrored through the kernel's centre.
                    const weight =
                      bug === 'kernel-not-flipped-in-dx' ? w[wIndexOf(outChannel, channelInGroup, kernelHeight - 1 - kernelRow, kernelWidth - 1 - kernelCol)] : w[wIndex];
                    const dxIndex = (plane + dxRow) * inWidth + dxCol;
                    const product = round(gradient * weight);
                    // BUG dx-assigned-not-accumulated.
                    dx[dxIndex] = bug === 'dx-assigned-not-accumulated' ? product : round(dx[dxIndex] + product);
                  }

                  // dw: accumulate dy * x over the input element this tap reads.
                  const dwRow = outRow * forDw.strideHeight + kernelRow * forDw.dilationHeight - forDw.padTop;
                  const dwCol = outCol * forDw.strideWidth + kernelCol * forDw.dilationWidth - forDw.padLeft;
                  const inside = dwRow >= 0 && dwRow < inHeight && dwCol >= 0 && dwCol < inWidth;
                  // BUG padding-materialised: taps in the padding read an explicit 0 instead of being skipped.
                  if (!inside && bug !== 'padding-materialised') continue;
                  const input = inside ? x[(plane + dwRow) * inWidth + dwCol] : 0;
                  // BUG dw-kernel-transposed: stored at [kw, kh].
                  const dwIndex =
                    dwTransposed ? ((outChannel * inChannelsPerGroup + channelInGroup) * kernelWidth + kernelCol) * kernelHeight + kernelRow : wIndex;
                  dw[dwIndex] = round(dw[dwIndex] + round(gradient * input));
                }
              }
            }
          }
        }
      }
    }

    return {
      dx: { dtype, shape: [...xTensor.shape], data: fromFloat64Array(dx, dtype) },
      dw: { dtype, shape: [...wTensor.shape], data: fromFloat64Array(dw, dtype) },
      db: { dtype, shape: [outChannels], data: fromFloat64Array(db, dtype) },
    };
  }

  return {
    name,
    layout: 'NCHW',
    filterLayout: 'OIHW',
    dtypes: ['float16', 'float32', 'float64'],
    supports: { groups: true, dilation: true, asymmetricPads: true },
    outputs: ['dx', 'dw', 'db'],
    conv2dBackward,
  };
}
