/**
 * float64 reference Conv2d forward (NCHW input, OIHW filter).
 *
 *   y[n, o, oh, ow] = b[o] + sum over c in group(o), kh, kw of
 *                     x[n, c, oh*SH + kh*DH - top, ow*SW + kw*DW - left] * w[o, c - g*C/G, kh, kw]
 *
 * where g = floor(o / (Cout/G)) is the group of output channel o and taps that
 * fall into the padding contribute nothing (zero padding).
 */
import { conv2dGeometry } from '../geometry.js';
import type { Conv2dParams, Float64Tensor } from '../types.js';
import { requireFloat64Tensor } from './tensor-checks.js';

export function conv2dForward(x: Float64Tensor, w: Float64Tensor, b: Float64Tensor | undefined, params: Conv2dParams): Float64Tensor {
  const geometry = conv2dGeometry(x.shape, w.shape, params);
  requireFloat64Tensor(x, 'x', geometry.xShape);
  requireFloat64Tensor(w, 'w', geometry.wShape);
  if (b !== undefined) requireFloat64Tensor(b, 'b', geometry.dbShape);
  const { batch, inHeight, inWidth, outChannels, kernelHeight, kernelWidth, inChannelsPerGroup, outChannelsPerGroup, outHeight, outWidth } = geometry;
  const inChannels = geometry.inChannels;
  const [strideH, strideW] = params.stride;
  const [dilationH, dilationW] = params.dilation;
  const { top, left } = params.pads;
  const y = new Float64Array(batch * outChannels * outHeight * outWidth);

  for (let n = 0; n < batch; n++) {
    for (let outChannel = 0; outChannel < outChannels; outChannel++) {
      const group = Math.floor(outChannel / outChannelsPerGroup);
      for (let outRow = 0; outRow < outHeight; outRow++) {
        for (let outCol = 0; outCol < outWidth; outCol++) {
          let sum = b === undefined ? 0 : b.data[outChannel];
          for (let groupChannel = 0; groupChannel < inChannelsPerGroup; groupChannel++) {
            const inChannel = group * inChannelsPerGroup + groupChannel;
            for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
              const inRow = outRow * strideH + kernelRow * dilationH - top;
              if (inRow < 0 || inRow >= inHeight) continue;
              for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                const inCol = outCol * strideW + kernelCol * dilationW - left;
                if (inCol < 0 || inCol >= inWidth) continue;
                const xValue = x.data[((n * inChannels + inChannel) * inHeight + inRow) * inWidth + inCol];
                const wValue = w.data[((outChannel * inChannelsPerGroup + groupChannel) * kernelHeight + kernelRow) * kernelWidth + kernelCol];
                sum += xValue * wValue;
              }
            }
          }
          y[((n * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol] = sum;
        }
      }
    }
  }
  return { dtype: 'float64', shape: geometry.dyShape, data: y };
}
