/**
 * float64 reference Conv2d backward. With the forward
 *   y[n, o, oh, ow] = b[o] + sum_{c in group(o), kh, kw} x[n, c, ih, iw] * w[o, c', kh, kw],
 *   ih = oh*SH + kh*DH - top,  iw = ow*SW + kw*DW - left,  c' = c - g*C/G,
 * and dy = dL/dy, the gradients are
 *   dx[n, c, ih, iw]  = sum over (o in group(c), kh, kw, oh, ow) reading (ih, iw) of dy[n, o, oh, ow] * w[o, c', kh, kw]
 *   dw[o, c', kh, kw] = sum over (n, oh, ow) with (ih, iw) inside the input of dy[n, o, oh, ow] * x[n, c, ih, iw]
 *   db[o]             = sum over (n, oh, ow) of dy[n, o, oh, ow]
 * Taps in the padding contribute to nothing; input rows no window reads get dx = 0 exactly.
 *
 * The loops run over the forward's (output, tap) pairs and scatter each product
 * into the element it contributes to: one pass, the same index maths as the forward.
 */
import { conv2dBackwardGeometry } from '../geometry.js';
import type { Conv2dGradients, Conv2dParams, Float64Tensor } from '../types.js';
import { requireFloat64Tensor } from './tensor-checks.js';

export function conv2dBackward(x: Float64Tensor, w: Float64Tensor, dy: Float64Tensor, params: Conv2dParams): Conv2dGradients {
  const geometry = conv2dBackwardGeometry(x.shape, w.shape, dy.shape, params);
  requireFloat64Tensor(x, 'x', geometry.xShape);
  requireFloat64Tensor(w, 'w', geometry.wShape);
  requireFloat64Tensor(dy, 'dy', geometry.dyShape);
  const { batch, inChannels, inHeight, inWidth, outChannels, kernelHeight, kernelWidth, inChannelsPerGroup, outChannelsPerGroup, outHeight, outWidth } =
    geometry;
  const [strideH, strideW] = params.stride;
  const [dilationH, dilationW] = params.dilation;
  const { top, left } = params.pads;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(outChannels);

  for (let n = 0; n < batch; n++) {
    for (let outChannel = 0; outChannel < outChannels; outChannel++) {
      const group = Math.floor(outChannel / outChannelsPerGroup);
      for (let outRow = 0; outRow < outHeight; outRow++) {
        for (let outCol = 0; outCol < outWidth; outCol++) {
          const gradient = dy.data[((n * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol];
          db[outChannel] += gradient;
          for (let groupChannel = 0; groupChannel < inChannelsPerGroup; groupChannel++) {
            const inChannel = group * inChannelsPerGroup + groupChannel;
            for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
              const inRow = outRow * strideH + kernelRow * dilationH - top;
              if (inRow < 0 || inRow >= inHeight) continue;
              for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                const inCol = outCol * strideW + kernelCol * dilationW - left;
                if (inCol < 0 || inCol >= inWidth) continue;
                const xIndex = ((n * inChannels + inChannel) * inHeight + inRow) * inWidth + inCol;
                const wIndex = ((outChannel * inChannelsPerGroup + groupChannel) * kernelHeight + kernelRow) * kernelWidth + kernelCol;
                dx[xIndex] += gradient * w.data[wIndex];
                dw[wIndex] += gradient * x.data[xIndex];
              }
            }
          }
        }
      }
    }
  }
  return {
    dx: { dtype: 'float64', shape: geometry.xShape, data: dx },
    dw: { dtype: 'float64', shape: geometry.wShape, data: dw },
    db: { dtype: 'float64', shape: geometry.dbShape, data: db },
  };
}

/**
 * The backward on |x|, |w|, |dy|: per element, the sum of the absolute values of
 * the products that form it (M in src/tolerance.ts). Its float64 rounding error is
 * relative and tiny (all terms positive), which the bound accounts for.
 */
export function conv2dBackwardMagnitude(x: Float64Tensor, w: Float64Tensor, dy: Float64Tensor, params: Conv2dParams): Conv2dGradients {
  const absolute = (tensor: Float64Tensor): Float64Tensor => ({ dtype: 'float64', shape: tensor.shape, data: tensor.data.map(Math.abs) });
  return conv2dBackward(absolute(x), absolute(w), absolute(dy), params);
}
