/**
 * correct-pairwise-nchw-hwio: a correct implementation with pairwise (tree)
 * summation, NCHW activations and an HWIO filter, computing in the fixture's
 * own precision (float16 included: every product and every sum is rounded to
 * half precision). For each output element it lists its products, in the
 * order of the forward's loops, and adds them as a balanced binary tree:
 *
 *   dx[n, c, ih, iw]  = tree sum of dy[n, o, oh, ow] * w[kh, kw, c', o] over the (o, kh, kw) reading (ih, iw)
 *   dw[kh, kw, c', o] = tree sum of dy[n, o, oh, ow] * x[n, g*C/G + c', ih, iw] over (n, oh, ow), taps inside x
 *   db[o]             = tree sum of dy[n, o, oh, ow] over (n, oh, ow)
 *
 * A tree sum's error grows like log2(k) instead of k: a summation order far from
 * the oracle's, and a check that the bound accepts genuine float16 arithmetic.
 */
import { fromFloat64Array, toFloat64Array } from '../../../src/dtype.js';
import type { Adapter, BackwardRequest, BackwardResult, Dtype } from '../../../src/types.js';
import { roundToFloat16 } from '../fast-rounding.js';

function roundingFor(dtype: Dtype): (value: number) => number {
  if (dtype === 'float32') return Math.fround;
  if (dtype === 'float16') return roundToFloat16;
  return (value) => value;
}

/** Sum terms[start, end) as a balanced tree, rounding each addition. */
function pairwiseSum(terms: Float64Array, start: number, end: number, round: (value: number) => number): number {
  const count = end - start;
  if (count === 0) return 0;
  if (count === 1) return terms[start];
  const middle = start + Math.floor(count / 2);
  return round(pairwiseSum(terms, start, middle, round) + pairwiseSum(terms, middle, end, round));
}

function conv2dBackward({ x: xTensor, w: wTensor, dy: dyTensor, params }: BackwardRequest): BackwardResult {
  const dtype = xTensor.dtype;
  const round = roundingFor(dtype);
  const x = toFloat64Array(xTensor.data, dtype);
  const w = toFloat64Array(wTensor.data, dtype);
  const dy = toFloat64Array(dyTensor.data, dtype);
  const [batchSize, inChannels, inHeight, inWidth] = xTensor.shape;
  const [kernelHeight, kernelWidth, inChannelsPerGroup, outChannels] = wTensor.shape;
  const [, , outHeight, outWidth] = dyTensor.shape;
  const [strideHeight, strideWidth] = params.stride;
  const [dilationHeight, dilationWidth] = params.dilation;
  const { top: padTop, left: padLeft } = params.pads;
  const outChannelsPerGroup = outChannels / params.groups;
  const dyIndex = (batch: number, outChannel: number, outRow: number, outCol: number): number =>
    ((batch * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol;
  const wIndex = (kernelRow: number, kernelCol: number, channelInGroup: number, outChannel: number): number =>
    ((kernelRow * kernelWidth + kernelCol) * inChannelsPerGroup + channelInGroup) * outChannels + outChannel;
  const xIndex = (batch: number, inChannel: number, inRow: number, inCol: number): number =>
    ((batch * inChannels + inChannel) * inHeight + inRow) * inWidth + inCol;

  const terms = new Float64Array(Math.max(outChannelsPerGroup * kernelHeight * kernelWidth, batchSize * outHeight * outWidth));
  const dx = new Float64Array(x.length);
  for (let batch = 0; batch < batchSize; batch++) {
    for (let inChannel = 0; inChannel < inChannels; inChannel++) {
      const group = Math.floor(inChannel / inChannelsPerGroup);
      const channelInGroup = inChannel - group * inChannelsPerGroup;
      for (let inRow = 0; inRow < inHeight; inRow++) {
        for (let inCol = 0; inCol < inWidth; inCol++) {
          let count = 0;
          for (let outChannel = group * outChannelsPerGroup; outChannel < (group + 1) * outChannelsPerGroup; outChannel++) {
            for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
              const rowOffset = inRow + padTop - kernelRow * dilationHeight;
              if (rowOffset < 0 || rowOffset % strideHeight !== 0 || rowOffset / strideHeight >= outHeight) continue;
              for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                const colOffset = inCol + padLeft - kernelCol * dilationWidth;
                if (colOffset < 0 || colOffset % strideWidth !== 0 || colOffset / strideWidth >= outWidth) continue;
                const gradient = dy[dyIndex(batch, outChannel, rowOffset / strideHeight, colOffset / strideWidth)];
                terms[count++] = round(gradient * w[wIndex(kernelRow, kernelCol, channelInGroup, outChannel)]);
              }
            }
          }
          dx[xIndex(batch, inChannel, inRow, inCol)] = pairwiseSum(terms, 0, count, round);
        }
      }
    }
  }

  const dw = new Float64Array(w.length);
  const db = new Float64Array(outChannels);
  for (let outChannel = 0; outChannel < outChannels; outChannel++) {
    const inChannelBase = Math.floor(outChannel / outChannelsPerGroup) * inChannelsPerGroup;
    let count = 0;
    for (let batch = 0; batch < batchSize; batch++) {
      for (let outRow = 0; outRow < outHeight; outRow++) {
        for (let outCol = 0; outCol < outWidth; outCol++) terms[count++] = dy[dyIndex(batch, outChannel, outRow, outCol)];
      }
    }
    db[outChannel] = pairwiseSum(terms, 0, count, round);
    for (let channelInGroup = 0; channelInGroup < inChannelsPerGroup; channelInGroup++) {
      for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
        for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
          count = 0;
          for (let batch = 0; batch < batchSize; batch++) {
            for (let outRow = 0; outRow < outHeight; outRow++) {
              const inRow = outRow * strideHeight + kernelRow * dilationHeight - padTop;
              if (inRow < 0 || inRow >= inHeight) continue;
              for (let outCol = 0; outCol < outWidth; outCol++) {
                const inCol = outCol * strideWidth + kernelCol * dilationWidth - padLeft;
                if (inCol < 0 || inCol >= inWidth) continue;
                const gradient = dy[dyIndex(batch, outChannel, outRow, outCol)];
                terms[count++] = round(gradient * x[xIndex(batch, inChannelBase + channelInGroup, inRow, inCol)]);
              }
            }
          }
          dw[wIndex(kernelRow, kernelCol, channelInGroup, outChannel)] = pairwiseSum(terms, 0, count, round);
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

const adapter: Adapter = {
  name: 'correct-pairwise-nchw-hwio',
  layout: 'NCHW',
  filterLayout: 'HWIO',
  dtypes: ['float16', 'float32', 'float64'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],
  conv2dBackward,
};

export default adapter;
