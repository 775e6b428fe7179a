/**
 * naive-float32: the simplest complete adapter, a plain-loop Conv2d backward in
 * single precision. It is the example docs/adapters.md shows: everything the backward
 * needs is in this file. Its optional forward (for scoring y and --gradcheck) is the
 * project's float64 oracle rounded to the dtype.
 *
 * Layouts: x, dy, dx are NCHW; w, dw are OIHW; db is [Cout]. With groups G,
 * output channel o belongs to group g = floor(o / (Cout/G)) and reads the input
 * channels g*C/G ... g*C/G + C/G - 1. The forward is
 *
 *   y[n, o, oh, ow] = b[o] + sum over c', kh, kw of x[n, g*C/G + c', ih, iw] * w[o, c', kh, kw]
 *   ih = oh*strideH + kh*dilationH - padTop,   iw = ow*strideW + kw*dilationW - padLeft
 *
 * where taps with (ih, iw) outside the input read the zero padding. Given
 * dy = dL/dy, each forward product x*w contributes to the gradients:
 *
 *   dx[n, g*C/G + c', ih, iw] += dy[n, o, oh, ow] * w[o, c', kh, kw]
 *   dw[o, c', kh, kw]         += dy[n, o, oh, ow] * x[n, g*C/G + c', ih, iw]
 *   db[o]                     += dy[n, o, oh, ow]
 *
 * summed over every (n, o, oh, ow, c', kh, kw) whose tap lands inside the input.
 * Taps in the padding contribute nothing, so bottom/right pads matter only
 * through the output size, which dy's shape already gives.
 *
 * Arithmetic is genuine float32: every product and every sum is rounded to
 * float32 (Math.fround, Float32Array accumulators), in the loop order below.
 *
 * bfloat16 fixtures: the inputs arrive as bfloat16 bits (a Uint16Array), which are
 * the top 16 bits of a float32, so they widen to float32 exactly; the float32
 * results are rounded to bfloat16 (nearest, ties to even) once at the end, a
 * computation in higher precision that the bfloat16 bound admits.
 */
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { conv2dForward as oracleForward } from '../../src/oracle/conv2d-forward.js';
import type { Adapter, BackwardRequest, BackwardResult, Float64Tensor, ForwardRequest, ForwardResult, Tensor } from '../../src/types.js';

/** bfloat16 bits -> float32 values: each pattern is the top half of the float32's bits. */
function widenBfloat16(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let index = 0; index < bits.length; index++) words[index] = bits[index] << 16;
  return new Float32Array(words.buffer);
}

/** float32 values -> bfloat16 bits, round to nearest, ties to even (NaN stays a quiet NaN). */
function narrowToBfloat16(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const bits = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) {
    const word = words[index];
    if ((word & 0x7f800000) === 0x7f800000 && (word & 0x007fffff) !== 0) {
      bits[index] = (word >>> 16) | 0x0040;
    } else {
      // Adding 0x7fff plus the lowest kept bit rounds the dropped half to nearest, ties to even.
      bits[index] = (word + 0x7fff + ((word >>> 16) & 1)) >>> 16;
    }
  }
  return bits;
}

function conv2dBackward(request: BackwardRequest): BackwardResult {
  if (request.x.dtype !== 'bfloat16') return conv2dBackwardFloat32(request);
  const widen = (tensor: Tensor): Tensor => ({ dtype: 'float32', shape: tensor.shape, data: widenBfloat16(tensor.data as Uint16Array) });
  const result = conv2dBackwardFloat32({ ...request, x: widen(request.x), w: widen(request.w), dy: widen(request.dy) });
  const narrowed: BackwardResult = {};
  for (const name of ['dx', 'dw', 'db'] as const) {
    const tensor = result[name] as Tensor;
    narrowed[name] = { dtype: 'bfloat16', shape: tensor.shape, data: narrowToBfloat16(tensor.data as Float32Array) };
  }
  return narrowed;
}

function conv2dBackwardFloat32({ x, w, dy, params }: BackwardRequest): BackwardResult {
  const [batchSize, inChannels, inHeight, inWidth] = x.shape;
  const [outChannels, inChannelsPerGroup, kernelHeight, kernelWidth] = w.shape;
  const [, , outHeight, outWidth] = dy.shape;
  const [strideHeight, strideWidth] = params.stride;
  const [dilationHeight, dilationWidth] = params.dilation;
  const { top: padTop, left: padLeft } = params.pads;
  const outChannelsPerGroup = outChannels / params.groups;

  // Float32Array accumulators: each store rounds the sum to float32.
  const dx = new Float32Array(x.data.length);
  const dw = new Float32Array(w.data.length);
  const db = new Float32Array(outChannels);

  for (let batch = 0; batch < batchSize; batch++) {
    for (let outChannel = 0; outChannel < outChannels; outChannel++) {
      const group = Math.floor(outChannel / outChannelsPerGroup);
      for (let outRow = 0; outRow < outHeight; outRow++) {
        for (let outCol = 0; outCol < outWidth; outCol++) {
          const gradient = dy.data[((batch * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol];
          db[outChannel] += gradient;
          for (let channelInGroup = 0; channelInGroup < inChannelsPerGroup; channelInGroup++) {
            const inChannel = group * inChannelsPerGroup + channelInGroup;
            for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
              const inRow = outRow * strideHeight + kernelRow * dilationHeight - padTop;
              if (inRow < 0 || inRow >= inHeight) continue; // tap in the top/bottom padding
              for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                const inCol = outCol * strideWidth + kernelCol * dilationWidth - padLeft;
                if (inCol < 0 || inCol >= inWidth) continue; // tap in the left/right padding
                const xIndex = ((batch * inChannels + inChannel) * inHeight + inRow) * inWidth + inCol;
                const wIndex = ((outChannel * inChannelsPerGroup + channelInGroup) * kernelHeight + kernelRow) * kernelWidth + kernelCol;
                dx[xIndex] += Math.fround(gradient * w.data[wIndex]);
                dw[wIndex] += Math.fround(gradient * x.data[xIndex]);
              }
            }
          }
        }
      }
    }
  }

  return {
    dx: { dtype: 'float32', shape: x.shape, data: dx },
    dw: { dtype: 'float32', shape: w.shape, data: dw },
    db: { dtype: 'float32', shape: [outChannels], data: db },
  };
}

function widened(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: tensor.shape, data: toFloat64Array(tensor.data, tensor.dtype) };
}

/**
 * The forward the backward above belongs to (y = conv(x, w) + b, the formula at the top), for
 * scoring y and for --gradcheck: the project's float64 oracle, rounded once to the fixture's
 * dtype, which every bound admits. (The backward is the example of docs/adapters.md; the
 * forward reuses the oracle instead of a second set of loops.)
 */
function conv2dForward({ x, w, b, params }: ForwardRequest): ForwardResult {
  const y = oracleForward(widened(x), widened(w), b === undefined ? undefined : widened(b), params);
  return { y: { dtype: x.dtype, shape: y.shape, data: fromFloat64Array(y.data, x.dtype) } };
}

const adapter: Adapter = {
  name: 'naive-float32',
  layout: 'NCHW',
  filterLayout: 'OIHW',
  dtypes: ['float32', 'bfloat16'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],
  conv2dBackward,
  conv2dForward,
};

export default adapter;
