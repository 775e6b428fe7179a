/**
 * correct-float64-ohwi: a correct implementation that accumulates in float64 and
 * rounds each result once to the fixture's dtype, with NHWC activations and an
 * OHWI filter. Its loops put the kernel taps outermost:
 *
 *   for each tap (kh, kw), batch n, output (oh, ow), output channel o, input channel c' of o's group:
 *     with ih = oh*SH + kh*DH - top, iw = ow*SW + kw*DW - left inside x:
 *       dx[n, ih, iw, g*C/G + c'] += dy[n, oh, ow, o] * w[o, kh, kw, c']
 *       dw[o, kh, kw, c']         += dy[n, oh, ow, o] * x[n, ih, iw, g*C/G + c']
 *   db[o] = sum over n, oh, ow of dy[n, oh, ow, o]
 *
 * Products of float16/float32 inputs are exact in float64, so the only float32
 * or float16 rounding is the last one: the most accurate kind of correct result.
 */
import { fromFloat64Array, toFloat64Array } from '../../../src/dtype.js';
import type { Adapter, BackwardRequest, BackwardResult } from '../../../src/types.js';

function conv2dBackward({ x: xTensor, w: wTensor, dy: dyTensor, params }: BackwardRequest): BackwardResult {
  const dtype = xTensor.dtype;
  const x = toFloat64Array(xTensor.data, dtype);
  const w = toFloat64Array(wTensor.data, dtype);
  const dy = toFloat64Array(dyTensor.data, dtype);
  const [batchSize, inHeight, inWidth, inChannels] = xTensor.shape;
  const [outChannels, kernelHeight, kernelWidth, inChannelsPerGroup] = wTensor.shape;
  const [, outHeight, outWidth] = dyTensor.shape;
  const [strideHeight, strideWidth] = params.stride;
  const [dilationHeight, dilationWidth] = params.dilation;
  const { top: padTop, left: padLeft } = params.pads;
  const outChannelsPerGroup = outChannels / params.groups;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(outChannels);

  for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
    for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
      for (let batch = 0; batch < batchSize; batch++) {
        for (let outRow = 0; outRow < outHeight; outRow++) {
          const inRow = outRow * strideHeight + kernelRow * dilationHeight - padTop;
          if (inRow < 0 || inRow >= inHeight) continue;
          for (let outCol = 0; outCol < outWidth; outCol++) {
            const inCol = outCol * strideWidth + kernelCol * dilationWidth - padLeft;
            if (inCol < 0 || inCol >= inWidth) continue;
            const dyBase = ((batch * outHeight + outRow) * outWidth + outCol) * outChannels;
            const xBase = ((batch * inHeight + inRow) * inWidth + inCol) * inChannels;
            for (let outChannel = 0; outChannel < outChannels; outChannel++) {
              const gradient = dy[dyBase + outChannel];
              const inChannelBase = Math.floor(outChannel / outChannelsPerGroup) * inChannelsPerGroup;
              const wBase = ((outChannel * kernelHeight + kernelRow) * kernelWidth + kernelCol) * inChannelsPerGroup;
              for (let channelInGroup = 0; channelInGroup < inChannelsPerGroup; channelInGroup++) {
                dx[xBase + inChannelBase + channelInGroup] += gradient * w[wBase + channelInGroup];
                dw[wBase + channelInGroup] += gradient * x[xBase + inChannelBase + channelInGroup];
              }
            }
          }
        }
      }
    }
  }
  for (let index = 0; index < dy.length; index++) db[index % outChannels] += dy[index];

  return {
    dx: { dtype, shape: [...xTensor.shape], data: fromFloat64Array(dx, dtype) },
    dw: { dtype, shape: [...wTensor.shape], data: fromFloat64Array(dw, dtype) },
    db: { dtype, shape: [outChannels], data: fromFloat64Array(db, dtype) },
  };
}

const adapter: Adapter = {
  name: 'correct-float64-ohwi',
  layout: 'NHWC',
  filterLayout: 'OHWI',
  dtypes: ['float16', 'float32', 'float64'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],
  conv2dBackward,
};

export default adapter;
