/**
 * correct-gather-nhwc-reversed: a correct implementation in the gather form, NHWC
 * activations and an HWIO filter, summing every element's terms in reverse order.
 *
 *   dx[n, ih, iw, c]  = sum over o in group(c), kh, kw with oh = (ih + top - kh*DH) / SH and
 *                       ow = (iw + left - kw*DW) / SW whole numbers inside dy: dy[n, oh, ow, o] * w[kh, kw, c', o]
 *   dw[kh, kw, c', o] = sum over n, oh, ow with the tap inside x: dy[n, oh, ow, o] * x[n, ih, iw, g*C/G + c']
 *   db[o]             = sum over n, oh, ow of dy[n, oh, ow, o]
 *
 * Each element is one running sum (loops run from the last index down to the
 * first), rounded to the dtype after every product and addition: a summation
 * order unlike the oracle's scatter, in float32 or float64.
 */
import type { Adapter, BackwardRequest, BackwardResult } from '../../../src/types.js';

function conv2dBackward({ x, w, dy, params }: BackwardRequest): BackwardResult {
  const round = x.dtype === 'float32' ? Math.fround : (value: number) => value;
  const [batchSize, inHeight, inWidth, inChannels] = x.shape;
  const [kernelHeight, kernelWidth, inChannelsPerGroup, outChannels] = w.shape;
  const [, outHeight, outWidth] = dy.shape;
  const [strideHeight, strideWidth] = params.stride;
  const [dilationHeight, dilationWidth] = params.dilation;
  const { top: padTop, left: padLeft } = params.pads;
  const outChannelsPerGroup = outChannels / params.groups;
  const dyAt = (batch: number, outRow: number, outCol: number, outChannel: number): number =>
    dy.data[((batch * outHeight + outRow) * outWidth + outCol) * outChannels + outChannel];
  const wIndex = (kernelRow: number, kernelCol: number, channelInGroup: number, outChannel: number): number =>
    ((kernelRow * kernelWidth + kernelCol) * inChannelsPerGroup + channelInGroup) * outChannels + outChannel;
  const xIndex = (batch: number, inRow: number, inCol: number, inChannel: number): number =>
    ((batch * inHeight + inRow) * inWidth + inCol) * inChannels + inChannel;

  const dx = x.dtype === 'float32' ? new Float32Array(x.data.length) : new Float64Array(x.data.length);
  for (let batch = batchSize - 1; batch >= 0; batch--) {
    for (let inRow = inHeight - 1; inRow >= 0; inRow--) {
      for (let inCol = inWidth - 1; inCol >= 0; inCol--) {
        for (let inChannel = inChannels - 1; inChannel >= 0; inChannel--) {
          const group = Math.floor(inChannel / inChannelsPerGroup);
          const channelInGroup = inChannel - group * inChannelsPerGroup;
          let sum = 0;
          for (let outChannel = (group + 1) * outChannelsPerGroup - 1; outChannel >= group * outChannelsPerGroup; outChannel--) {
            for (let kernelRow = kernelHeight - 1; kernelRow >= 0; kernelRow--) {
              const rowOffset = inRow + padTop - kernelRow * dilationHeight;
              if (rowOffset < 0 || rowOffset % strideHeight !== 0) continue;
              const outRow = rowOffset / strideHeight;
              if (outRow >= outHeight) continue;
              for (let kernelCol = kernelWidth - 1; kernelCol >= 0; kernelCol--) {
                const colOffset = inCol + padLeft - kernelCol * dilationWidth;
                if (colOffset < 0 || colOffset % strideWidth !== 0) continue;
                const outCol = colOffset / strideWidth;
                if (outCol >= outWidth) continue;
                sum = round(sum + round(dyAt(batch, outRow, outCol, outChannel) * w.data[wIndex(kernelRow, kernelCol, channelInGroup, outChannel)]));
              }
            }
          }
          dx[xIndex(batch, inRow, inCol, inChannel)] = sum;
        }
      }
    }
  }

  const dw = x.dtype === 'float32' ? new Float32Array(w.data.length) : new Float64Array(w.data.length);
  const db = x.dtype === 'float32' ? new Float32Array(outChannels) : new Float64Array(outChannels);
  for (let outChannel = outChannels - 1; outChannel >= 0; outChannel--) {
    const group = Math.floor(outChannel / outChannelsPerGroup);
    let biasSum = 0;
    for (let batch = batchSize - 1; batch >= 0; batch--) {
      for (let outRow = outHeight - 1; outRow >= 0; outRow--) {
        for (let outCol = outWidth - 1; outCol >= 0; outCol--) biasSum = round(biasSum + dyAt(batch, outRow, outCol, outChannel));
      }
    }
    db[outChannel] = biasSum;
    for (let kernelRow = kernelHeight - 1; kernelRow >= 0; kernelRow--) {
      for (let kernelCol = kernelWidth - 1; kernelCol >= 0; kernelCol--) {
        for (let channelInGroup = inChannelsPerGroup - 1; channelInGroup >= 0; channelInGroup--) {
          const inChannel = group * inChannelsPerGroup + channelInGroup;
          let sum = 0;
          for (let batch = batchSize - 1; batch >= 0; batch--) {
            for (let outRow = outHeight - 1; outRow >= 0; outRow--) {
              const inRow = outRow * strideHeight + kernelRow * dilationHeight - padTop;
              if (inRow < 0 || inRow >= inHeight) continue;
              for (let outCol = outWidth - 1; outCol >= 0; outCol--) {
                const inCol = outCol * strideWidth + kernelCol * dilationWidth - padLeft;
                if (inCol < 0 || inCol >= inWidth) continue;
                sum = round(sum + round(dyAt(batch, outRow, outCol, outChannel) * x.data[xIndex(batch, inRow, inCol, inChannel)]));
              }
            }
          }
          dw[wIndex(kernelRow, kernelCol, channelInGroup, outChannel)] = sum;
        }
      }
    }
  }

  return {
    dx: { dtype: x.dtype, shape: [...x.shape], data: dx },
    dw: { dtype: x.dtype, shape: [...w.shape], data: dw },
    db: { dtype: x.dtype, shape: [outChannels], data: db },
  };
}

const adapter: Adapter = {
  name: 'correct-gather-nhwc-reversed',
  layout: 'NHWC',
  filterLayout: 'HWIO',
  dtypes: ['float32', 'float64'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],
  conv2dBackward,
};

export default adapter;
