/**
 * The float64 oracle: hand-worked cases, a brute-force forward, central finite
 * differences of the forward, adjoint identities, the magnitude pass and unread rows.
 */
import t from 'tap';
import { isConformanceError } from '../../src/errors.js';
import { convOutputSize, unreadTailSize } from '../../src/geometry.js';
import { conv2dBackward, conv2dBackwardMagnitude, conv2dForward } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import { gamma } from '../../src/tolerance.js';
import type { Conv2dParams, Float64Tensor } from '../../src/types.js';
import {
  convCase,
  convFeatures,
  describeConfig,
  dot,
  float64Tensor,
  randomConvCase,
  type ConvCase,
  type ConvConfig,
  type ConvFeature,
} from '../helpers/random-conv.js';

const U = 2 ** -53; // float64 unit roundoff
const NO_PADS = { top: 0, bottom: 0, left: 0, right: 0 };
const values = (tensor: Float64Tensor): number[] => Array.from(tensor.data);
const absolute = (tensor: Float64Tensor): Float64Tensor => float64Tensor(tensor.shape, tensor.data.map(Math.abs));

// ---------------------------------------------------------------------------
// (a) Small cases worked out by hand.

t.test('hand case: 3x3 input, 2x2 filter, stride 1, no padding', async (t) => {
  // x = | 1 2 3 |   w = | 1 2 |   b = 10   dy = |  1 -1 |
  //     | 4 5 6 |       | 3 4 |                 |  2  3 |
  //     | 7 8 9 |
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: NO_PADS, groups: 1 };
  const x = float64Tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = float64Tensor([1, 1, 2, 2], [1, 2, 3, 4]);
  const b = float64Tensor([1], [10]);
  const dy = float64Tensor([1, 1, 2, 2], [1, -1, 2, 3]);

  // Forward, y[i,j] = b + sum_{kh,kw} x[i+kh, j+kw] * w[kh,kw]:
  //   y[0,0] = 1*1 + 2*2 + 4*3 + 5*4 = 37      y[0,1] = 2*1 + 3*2 + 5*3 + 6*4 = 47
  //   y[1,0] = 4*1 + 5*2 + 7*3 + 8*4 = 67      y[1,1] = 5*1 + 6*2 + 8*3 + 9*4 = 77
  // (a step right adds (1+2+3+4)*1 = 10, a step down adds 10*3 = 30), plus b = 10.
  const y = conv2dForward(x, w, b, params);
  t.same(y.shape, [1, 1, 2, 2]);
  t.same(values(y), [47, 57, 77, 87]);
  t.same(values(conv2dForward(x, w, undefined, params)), [37, 47, 67, 77], 'no bias');

  const { dx, dw, db } = conv2dBackward(x, w, dy, params);
  // db = sum of dy = 1 - 1 + 2 + 3 = 5.
  t.same(values(db), [5]);
  // dw[kh,kw] = sum_{i,j} dy[i,j] * x[i+kh, j+kw]:
  //   dw[0,0] = 1*1 - 1*2 + 2*4 + 3*5 = 22     dw[0,1] = 1*2 - 1*3 + 2*5 + 3*6 = 27
  //   dw[1,0] = 1*4 - 1*5 + 2*7 + 3*8 = 37     dw[1,1] = 1*5 - 1*6 + 2*8 + 3*9 = 42
  t.same(values(dw), [22, 27, 37, 42]);
  t.same(dw.shape, [1, 1, 2, 2]);
  // dx[r,c] = sum of dy[i,j] * w[r-i, c-j] over the windows (i,j) covering (r,c) (a "full" correlation):
  //   dx[0,0] = dy00*w00 = 1                      dx[0,1] = dy00*w01 + dy01*w00 = 2 - 1 = 1
  //   dx[0,2] = dy01*w01 = -2                     dx[1,0] = dy00*w10 + dy10*w00 = 3 + 2 = 5
  //   dx[1,1] = dy00*w11 + dy01*w10 + dy10*w01 + dy11*w00 = 4 - 3 + 4 + 3 = 8
  //   dx[1,2] = dy01*w11 + dy11*w01 = -4 + 6 = 2  dx[2,0] = dy10*w10 = 6
  //   dx[2,1] = dy10*w11 + dy11*w10 = 8 + 9 = 17  dx[2,2] = dy11*w11 = 12
  t.same(values(dx), [1, 1, -2, 5, 8, 2, 6, 17, 12]);
  // Cross-check of the hand work: <y - b, dy> = 37 - 47 + 134 + 231 = 355
  // = <x, dx> = 1 + 2 - 6 + 20 + 40 + 12 + 42 + 136 + 108 = <w, dw> = 22 + 54 + 111 + 168.
  t.equal(dot([37, 47, 67, 77], dy.data), 355);
  t.equal(dot(x.data, dx.data), 355);
  t.equal(dot(w.data, dw.data), 355);
});

t.test('hand case: H=5, K=2, stride 2 drops row 4, whose dx is exactly 0', async (t) => {
  // One column. Windows cover rows {0,1} and {2,3}: OH = floor((5-2)/2) + 1 = 2; row 4 is never read.
  // x = [1, 2, 3, 4, 1000]^T (row 4 is large to show it cannot matter), w = [2, -1]^T, dy = [1, 3]^T.
  const params: Conv2dParams = { stride: [2, 1], dilation: [1, 1], pads: NO_PADS, groups: 1 };
  const x = float64Tensor([1, 1, 5, 1], [1, 2, 3, 4, 1000]);
  const w = float64Tensor([1, 1, 2, 1], [2, -1]);
  const dy = float64Tensor([1, 1, 2, 1], [1, 3]);
  t.equal(unreadTailSize(5, 2, 2, 1, 0, 0), 1);
  // y0 = 2*1 - 1*2 = 0, y1 = 2*3 - 1*4 = 2.
  t.same(values(conv2dForward(x, w, undefined, params)), [0, 2]);
  const { dx, dw, db } = conv2dBackward(x, w, dy, params);
  // dx rows 0,1 = dy0*w = [2, -1]; rows 2,3 = dy1*w = [6, -3]; row 4: no window, exactly +0.
  t.same(values(dx), [2, -1, 6, -3, 0]);
  t.ok(Object.is(dx.data[4], 0), 'dx of the dropped row is exactly +0');
  // dw0 = dy0*x0 + dy1*x2 = 1 + 9 = 10, dw1 = dy0*x1 + dy1*x3 = 2 + 12 = 14: x[4] = 1000 never appears.
  t.same(values(dw), [10, 14]);
  t.same(values(db), [4]);
});

t.test('hand case: groups = 2 keeps the cross-group blocks untouched', async (t) => {
  // x [1, 4, 1, 2]: channels c0 = [1, 2], c1 = [3, 4] (group 0), c2 = [5, 6], c3 = [7, 8] (group 1).
  // w [2, 2, 1, 1]: output o0 reads c0, c1 with weights (1, 2); o1 reads c2, c3 with weights (3, -1).
  // dy [1, 2, 1, 2]: o0 = [1, -1], o1 = [2, 1].
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: NO_PADS, groups: 2 };
  const x = float64Tensor([1, 4, 1, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const w = float64Tensor([2, 2, 1, 1], [1, 2, 3, -1]);
  const dy = float64Tensor([1, 2, 1, 2], [1, -1, 2, 1]);
  // y o0 = 1*c0 + 2*c1 = [7, 10]; y o1 = 3*c2 - c3 = [8, 10].
  t.same(values(conv2dForward(x, w, undefined, params)), [7, 10, 8, 10]);
  const grouped = conv2dBackward(x, w, dy, params);
  // dx c0 = 1*dy_o0 = [1, -1]; c1 = 2*dy_o0 = [2, -2]; c2 = 3*dy_o1 = [6, 3]; c3 = -1*dy_o1 = [-2, -1].
  t.same(values(grouped.dx), [1, -1, 2, -2, 6, 3, -2, -1]);
  // dw[o0] = (<c0, dy_o0>, <c1, dy_o0>) = (1-2, 3-4) = (-1, -1); dw[o1] = (<c2, dy_o1>, <c3, dy_o1>) = (10+6, 14+8) = (16, 22).
  t.same(values(grouped.dw), [-1, -1, 16, 22]);
  t.same(values(grouped.db), [0, 3]);

  // The same convolution as a dense one (groups = 1) with block-diagonal weights [2, 4, 1, 1]:
  // o0 = (1, 2, 0, 0), o1 = (0, 0, 3, -1). Its dx equals the grouped dx; its dw has the grouped
  // dw on the diagonal blocks and, off them, the cross-group terms the grouped op must not produce:
  // dense dw[o0, c2] = <c2, dy_o0> = 5 - 6 = -1, dw[o0, c3] = 7 - 8 = -1, dw[o1, c0] = 2 + 2 = 4, dw[o1, c1] = 6 + 4 = 10.
  const dense = conv2dBackward(x, float64Tensor([2, 4, 1, 1], [1, 2, 0, 0, 0, 0, 3, -1]), dy, { ...params, groups: 1 });
  t.same(values(dense.dx), values(grouped.dx));
  t.same(values(dense.dw), [-1, -1, -1, -1, 4, 10, 16, 22]);

  // Group isolation: with dy of group 1 set to 0, the dx of channels c2, c3 is exactly 0 and c0, c1 are unchanged;
  // changing x of group 1 changes neither dw[o0] nor y[o0].
  const dyGroup0 = float64Tensor([1, 2, 1, 2], [1, -1, 0, 0]);
  t.same(values(conv2dBackward(x, w, dyGroup0, params).dx), [1, -1, 2, -2, 0, 0, 0, 0]);
  const xChanged = float64Tensor([1, 4, 1, 2], [1, 2, 3, 4, 50, 60, 70, 80]);
  t.same(values(conv2dBackward(xChanged, w, dy, params).dw).slice(0, 2), [-1, -1]);
  t.same(values(conv2dForward(xChanged, w, undefined, params)).slice(0, 2), [7, 10]);
});

// ---------------------------------------------------------------------------
// A forward written differently: materialise the zero-padded input and a dense
// block-diagonal filter, count the windows by brute force, and sum every tap.

function referenceForward(testCase: ConvCase): number[] {
  const { config, x, w, b } = testCase;
  const { batch, inChannels, outChannels, inHeight, inWidth, kernelHeight, kernelWidth, params } = config;
  const { top, bottom, left, right } = params.pads;
  const paddedHeight = inHeight + top + bottom;
  const paddedWidth = inWidth + left + right;
  const padded = new Float64Array(batch * inChannels * paddedHeight * paddedWidth);
  for (let n = 0; n < batch; n++)
    for (let channel = 0; channel < inChannels; channel++)
      for (let row = 0; row < inHeight; row++)
        for (let col = 0; col < inWidth; col++)
          padded[((n * inChannels + channel) * paddedHeight + row + top) * paddedWidth + col + left] =
            x.data[((n * inChannels + channel) * inHeight + row) * inWidth + col];
  const inPerGroup = inChannels / params.groups;
  const outPerGroup = outChannels / params.groups;
  const dense = new Float64Array(outChannels * inChannels * kernelHeight * kernelWidth);
  for (let outChannel = 0; outChannel < outChannels; outChannel++) {
    const firstChannel = Math.floor(outChannel / outPerGroup) * inPerGroup;
    for (let groupChannel = 0; groupChannel < inPerGroup; groupChannel++)
      for (let tap = 0; tap < kernelHeight * kernelWidth; tap++)
        dense[(outChannel * inChannels + firstChannel + groupChannel) * kernelHeight * kernelWidth + tap] =
          w.data[(outChannel * inPerGroup + groupChannel) * kernelHeight * kernelWidth + tap];
  }
  const windows = (padded: number, kernel: number, stride: number, dilation: number): number => {
    let count = 0;
    while (count * stride + (kernel - 1) * dilation < padded) count++;
    return count;
  };
  const outHeight = windows(paddedHeight, kernelHeight, params.stride[0], params.dilation[0]);
  const outWidth = windows(paddedWidth, kernelWidth, params.stride[1], params.dilation[1]);
  const y: number[] = [];
  for (let n = 0; n < batch; n++)
    for (let outChannel = 0; outChannel < outChannels; outChannel++)
      for (let outRow = 0; outRow < outHeight; outRow++)
        for (let outCol = 0; outCol < outWidth; outCol++) {
          let sum = b.data[outChannel];
          for (let channel = 0; channel < inChannels; channel++)
            for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++)
              for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                const row = outRow * params.stride[0] + kernelRow * params.dilation[0];
                const col = outCol * params.stride[1] + kernelCol * params.dilation[1];
                sum +=
                  padded[((n * inChannels + channel) * paddedHeight + row) * paddedWidth + col] *
                  dense[((outChannel * inChannels + channel) * kernelHeight + kernelRow) * kernelWidth + kernelCol];
              }
          y.push(sum);
        }
  return y;
}

t.test('conv2dForward equals a padded, dense brute-force forward (integer data: exact)', async (t) => {
  // Integer data in [-3, 3]: every product and partial sum is a small integer, exact in
  // float64 in any order, so the two forwards must agree bit for bit.
  const prng = new Prng(0xf0e);
  let mismatches = 0;
  const cases = 150;
  for (let index = 0; index < cases; index++) {
    const testCase = randomConvCase(prng, { values: 'integer' });
    const y = conv2dForward(testCase.x, testCase.w, testCase.b, testCase.params);
    const reference = referenceForward(testCase);
    if (y.data.length !== reference.length || reference.some((value, at) => value !== y.data[at])) {
      mismatches++;
      if (mismatches <= 3) t.fail(`forward differs: ${describeConfig(testCase.config)}`);
    }
  }
  t.equal(mismatches, 0, `${cases} random configurations agree exactly`);
});

// ---------------------------------------------------------------------------
// (b) Central finite differences of the float64 forward.

/** L = <conv2dForward(x, w, b), dy>. */
function loss(testCase: ConvCase): number {
  return dot(conv2dForward(testCase.x, testCase.w, testCase.b, testCase.params).data, testCase.dy.data);
}

/** Named configurations, each guaranteeing one feature (the random ones add variety). */
const FEATURE_CONFIGS: { name: string; config: ConvConfig }[] = [
  {
    name: 'strides 2x3, batch 2',
    config: { batch: 2, inChannels: 2, outChannels: 3, inHeight: 5, inWidth: 6, kernelHeight: 2, kernelWidth: 3, params: { stride: [2, 3], dilation: [1, 1], pads: NO_PADS, groups: 1 } },
  },
  {
    name: 'dilation 2x3 (different per axis)',
    config: { batch: 1, inChannels: 2, outChannels: 2, inHeight: 6, inWidth: 5, kernelHeight: 2, kernelWidth: 2, params: { stride: [1, 1], dilation: [2, 3], pads: NO_PADS, groups: 1 } },
  },
  {
    name: 'asymmetric pads, bottom 3 >= kernel 2',
    config: {
      batch: 1, inChannels: 1, outChannels: 2, inHeight: 3, inWidth: 4, kernelHeight: 2, kernelWidth: 2,
      params: { stride: [1, 2], dilation: [1, 1], pads: { top: 0, bottom: 3, left: 2, right: 1 }, groups: 1 },
    },
  },
  {
    name: 'groups 2',
    config: {
      batch: 2, inChannels: 4, outChannels: 6, inHeight: 4, inWidth: 4, kernelHeight: 3, kernelWidth: 2,
      params: { stride: [1, 1], dilation: [1, 1], pads: { top: 1, bottom: 0, left: 0, right: 1 }, groups: 2 },
    },
  },
  {
    name: 'depthwise, channel multiplier 2',
    config: {
      batch: 1, inChannels: 3, outChannels: 6, inHeight: 4, inWidth: 5, kernelHeight: 3, kernelWidth: 3,
      params: { stride: [2, 1], dilation: [1, 2], pads: { top: 1, bottom: 1, left: 2, right: 2 }, groups: 3 },
    },
  },
  {
    name: 'kernel 4x5 larger than the 2x3 input',
    config: {
      batch: 2, inChannels: 2, outChannels: 2, inHeight: 2, inWidth: 3, kernelHeight: 4, kernelWidth: 5,
      params: { stride: [1, 1], dilation: [1, 1], pads: { top: 2, bottom: 1, left: 2, right: 2 }, groups: 1 },
    },
  },
  {
    name: 'batch 3, everything at once',
    config: {
      batch: 3, inChannels: 4, outChannels: 4, inHeight: 5, inWidth: 4, kernelHeight: 2, kernelWidth: 3,
      params: { stride: [2, 1], dilation: [2, 1], pads: { top: 0, bottom: 2, left: 3, right: 1 }, groups: 2 },
    },
  },
];

/** Small random configurations for finite differences (every parameter costs two forwards). */
const FD_OPTIONS = { maxBatch: 2, maxGroups: 2, maxInChannelsPerGroup: 2, maxOutChannelsPerGroup: 2, maxInput: 5, maxKernel: 3, maxPad: 3 };

interface FiniteDifferenceResult {
  parameters: number;
  failures: string[];
  largestTolerance: number;
}

/**
 * Check dx, dw, db against central differences of L, element by element.
 *
 * Why the tolerance is what it is. L is linear in each single parameter p (the forward is
 * bilinear in x and w and linear in b), so L(p+h) - L(p-h) = g * ((p+h) - (p-h)) exactly:
 * central differences have no truncation error for any h, and only rounding remains. We take
 * h = 1/2 (large h shrinks the rounding error, which is divided by the step) and divide by the
 * step actually taken, fl(p+h) - fl(p-h). Computing L in float64 sums S-weighted terms with at
 * most n = (C/G*KH*KW + 1) + 2 + |y| roundings on each term's path (the tap sum plus bias, the
 * products with dy, the outer dot), so |fl(L) - L| <= gamma_n(u) * S, where S = sum of |terms|
 * <= S* = <conv(|x|+h, |w|+h, |b|+h), |dy|> at every perturbed point. The difference quotient is
 * then off by at most 2*gamma_n(u)*S* / step, plus a few u relative from the subtraction, the step
 * and the division (4u|g|). The oracle's own gradient is off by at most gamma_k(u)*M (M from
 * conv2dBackwardMagnitude, k its accumulation length <= N*OH*OW or Cout/G*KH*KW). The sum of
 * these is the tolerance, times 2 for the second-order terms dropped above.
 */
function checkFiniteDifferences(testCase: ConvCase, label: string): FiniteDifferenceResult {
  const { x, w, b, dy, params } = testCase;
  const h = 0.5;
  const gradients = conv2dBackward(x, w, dy, params);
  const magnitude = conv2dBackwardMagnitude(x, w, dy, params);
  const shifted = (tensor: Float64Tensor): Float64Tensor => float64Tensor(tensor.shape, tensor.data.map((value) => Math.abs(value) + h));
  const boundingSum = dot(conv2dForward(shifted(x), shifted(w), shifted(b), params).data, dy.data.map(Math.abs));
  const { config } = testCase;
  const outputElements = dy.data.length;
  const forwardTerms = (config.inChannels / params.groups) * config.kernelHeight * config.kernelWidth + 1;
  const lossRoundings = forwardTerms + 2 + outputElements;
  const spatial = dy.shape[0] * dy.shape[2] * dy.shape[3];
  const backwardLength = Math.max(spatial, (config.outChannels / params.groups) * config.kernelHeight * config.kernelWidth);
  const failures: string[] = [];
  let parameters = 0;
  let largestTolerance = 0;
  const probe = (tensor: Float64Tensor, gradient: Float64Tensor, gradientMagnitude: Float64Tensor, name: string): void => {
    for (let index = 0; index < tensor.data.length; index++) {
      const original = tensor.data[index];
      const plus = original + h;
      const minus = original - h;
      tensor.data[index] = plus;
      const lossPlus = loss(testCase);
      tensor.data[index] = minus;
      const lossMinus = loss(testCase);
      tensor.data[index] = original;
      const step = plus - minus;
      const difference = (lossPlus - lossMinus) / step;
      const expected = gradient.data[index];
      const tolerance =
        2 * ((2 * gamma(lossRoundings, U) * boundingSum) / step + 4 * U * Math.abs(expected) + gamma(backwardLength, U) * gradientMagnitude.data[index]);
      largestTolerance = Math.max(largestTolerance, tolerance);
      parameters++;
      if (!(Math.abs(difference - expected) <= tolerance)) {
        failures.push(`${label}: ${name}[${index}] finite difference ${difference}, backward ${expected}, tolerance ${tolerance}`);
      }
    }
  };
  probe(x, gradients.dx, magnitude.dx, 'dx');
  probe(w, gradients.dw, magnitude.dw, 'dw');
  probe(testCase.b, gradients.db, magnitude.db, 'db');
  return { parameters, failures, largestTolerance };
}

t.test('central finite differences of the forward match dx, dw, db', async (t) => {
  const prng = new Prng(0xfd);
  const seen = new Set<ConvFeature>();
  let parameters = 0;
  let largestTolerance = 0;
  const cases: { label: string; testCase: ConvCase }[] = FEATURE_CONFIGS.map(({ name, config }) => ({ label: name, testCase: convCase(prng, config) }));
  for (let index = 0; index < 25; index++) {
    const testCase = randomConvCase(prng, FD_OPTIONS);
    cases.push({ label: `random ${index}: ${describeConfig(testCase.config)}`, testCase });
  }
  let failed = 0;
  for (const { label, testCase } of cases) {
    for (const feature of convFeatures(testCase.config)) seen.add(feature);
    const result = checkFiniteDifferences(testCase, label);
    parameters += result.parameters;
    largestTolerance = Math.max(largestTolerance, result.largestTolerance);
    for (const failure of result.failures.slice(0, 3)) t.fail(failure);
    if (result.failures.length > 0) failed++;
  }
  t.equal(failed, 0, `${cases.length} configurations, ${parameters} parameters checked`);
  // The tolerance is tiny next to the O(1) error any wrong index or missing term produces
  // (products of standard normal values).
  t.ok(largestTolerance < 1e-9, `largest tolerance ${largestTolerance.toExponential(2)} < 1e-9`);
  const required: ConvFeature[] = [
    'batched',
    'strided',
    'dilation-differs-per-axis',
    'asymmetric-pads',
    'pad-at-least-kernel',
    'grouped',
    'depthwise-multiplier-2',
    'kernel-larger-than-input',
  ];
  t.same(required.filter((feature) => !seen.has(feature)), [], 'every feature is exercised');
});

t.test('with integer data the central differences are exact', async (t) => {
  // Integers in [-3, 3], h = 1: every value, product and sum is an integer far below 2^53, so
  // L(p+1) - L(p-1) = 2g holds exactly in float64, and the backward's sums are exact too.
  const prng = new Prng(0x1d);
  let mismatches = 0;
  let parameters = 0;
  const cases = 25;
  for (let caseIndex = 0; caseIndex < cases; caseIndex++) {
    const testCase = randomConvCase(prng, { ...FD_OPTIONS, values: 'integer' });
    const gradients = conv2dBackward(testCase.x, testCase.w, testCase.dy, testCase.params);
    for (const [tensor, gradient] of [
      [testCase.x, gradients.dx],
      [testCase.w, gradients.dw],
      [testCase.b, gradients.db],
    ] as const) {
      for (let index = 0; index < tensor.data.length; index++) {
        const original = tensor.data[index];
        tensor.data[index] = original + 1;
        const lossPlus = loss(testCase);
        tensor.data[index] = original - 1;
        const lossMinus = loss(testCase);
        tensor.data[index] = original;
        parameters++;
        if ((lossPlus - lossMinus) / 2 !== gradient.data[index]) {
          mismatches++;
          if (mismatches <= 3) t.fail(`${describeConfig(testCase.config)}: element ${index}: ${(lossPlus - lossMinus) / 2} vs ${gradient.data[index]}`);
        }
      }
    }
  }
  t.equal(mismatches, 0, `${cases} configurations, ${parameters} parameters, all exact`);
});

// ---------------------------------------------------------------------------
// (c) Adjoint identities on many random configurations.

t.test('adjoint identities: <conv(x,w), dy> = <x, dx> = <w, dw>, sum of dy = db', async (t) => {
  // All three inner products sum the same triple products x*w*dy, in different orders, so they
  // agree up to rounding. Each is a float64 sum in which every term passes through at most
  // n = (longest inner sum) + (outer dot length) + 2 roundings, so each is within gamma_n(u)*S of
  // the exact value, S = sum of |x*w*dy| = <|x|, dx of (|x|,|w|,|dy|)>, and any two are within
  // 2*gamma_n(u)*S. For these sizes n < 4500, so 2*gamma_n(u) < 1e-12: the 1e-12 relative
  // tolerance is a proven bound (checked per case below), not a guess. db is a sum of dy, and
  // its check is relative to the sum of |dy|, by the same argument.
  const prng = new Prng(0xad1);
  const configurations = 300;
  const counts = new Map<ConvFeature, number>();
  let failures = 0;
  let worstRelative = 0;
  let zeroCases = 0;
  for (let caseIndex = 0; caseIndex < configurations; caseIndex++) {
    const testCase = randomConvCase(prng);
    for (const feature of convFeatures(testCase.config)) counts.set(feature, (counts.get(feature) ?? 0) + 1);
    const { x, w, dy, params, config } = testCase;
    const y = conv2dForward(x, w, undefined, params);
    const { dx, dw, db } = conv2dBackward(x, w, dy, params);
    const magnitude = conv2dBackwardMagnitude(x, w, dy, params);
    const termSum = dot(x.data.map(Math.abs), magnitude.dx.data);
    const viaOutput = dot(y.data, dy.data);
    const viaInput = dot(x.data, dx.data);
    const viaFilter = dot(w.data, dw.data);
    const spatial = dy.shape[0] * dy.shape[2] * dy.shape[3];
    const taps = config.kernelHeight * config.kernelWidth;
    const longest = Math.max(
      (config.inChannels / params.groups) * taps + y.data.length, // forward then <y, dy>
      (config.outChannels / params.groups) * taps + x.data.length, // dx then <x, dx>
      spatial + w.data.length, // dw then <w, dw>
    );
    const relativeBound = 2 * gamma(longest + 2, U);
    if (relativeBound > 1e-12) t.fail(`proof does not cover this size: n = ${longest + 2}`);
    const errors = [Math.abs(viaOutput - viaInput), Math.abs(viaOutput - viaFilter), Math.abs(viaInput - viaFilter)];
    // S = 0 when no window reads any input value (pads >= the dilated kernel): then all three are exactly 0.
    if (termSum === 0) zeroCases++;
    for (const error of errors) {
      worstRelative = Math.max(worstRelative, termSum === 0 ? (error === 0 ? 0 : Infinity) : error / termSum);
      if (!(error <= 1e-12 * termSum)) {
        failures++;
        if (failures <= 3) t.fail(`${describeConfig(config)}: inner products ${viaOutput}, ${viaInput}, ${viaFilter} (S = ${termSum})`);
      }
    }
    // db[o] = sum over (n, oh, ow) of dy[n, o, oh, ow].
    const [batch, outChannels, outHeight, outWidth] = dy.shape;
    for (let outChannel = 0; outChannel < outChannels; outChannel++) {
      let sum = 0;
      let absoluteSum = 0;
      for (let n = 0; n < batch; n++)
        for (let position = 0; position < outHeight * outWidth; position++) {
          const value = dy.data[(n * outChannels + outChannel) * outHeight * outWidth + position];
          sum += value;
          absoluteSum += Math.abs(value);
        }
      if (!(Math.abs(sum - db.data[outChannel]) <= 1e-12 * absoluteSum)) {
        failures++;
        if (failures <= 3) t.fail(`${describeConfig(config)}: db[${outChannel}] ${db.data[outChannel]} vs sum of dy ${sum}`);
      }
    }
    // With a bias: <conv(x, w, b), dy> = <x, dx> + <b, db>.
    const withBias = dot(conv2dForward(x, w, testCase.b, params).data, dy.data);
    const biasTerms = dot(testCase.b.data.map(Math.abs), magnitude.db.data);
    if (!(Math.abs(withBias - (viaInput + dot(testCase.b.data, db.data))) <= 1e-12 * (termSum + biasTerms))) {
      failures++;
      if (failures <= 3) t.fail(`${describeConfig(config)}: bias identity`);
    }
  }
  t.equal(failures, 0, `${configurations} random configurations (${zeroCases} read no input; worst relative gap ${worstRelative.toExponential(2)})`);
  // The seeded set covers every feature many times over.
  const summary = [...counts.entries()].map(([feature, count]) => `${feature} ${count}`).join(', ');
  const features: ConvFeature[] = ['batched', 'strided', 'dilation-differs-per-axis', 'asymmetric-pads', 'pad-at-least-kernel', 'grouped', 'depthwise-multiplier-2', 'kernel-larger-than-input'];
  t.same(
    features.filter((feature) => (counts.get(feature) ?? 0) < 10),
    [],
    `every feature occurs at least 10 times (${summary})`,
  );
});

// ---------------------------------------------------------------------------
// (d) The magnitude pass.

t.test('conv2dBackwardMagnitude is the backward of |x|, |w|, |dy| and bounds |backward|', async (t) => {
  // Elementwise M >= |g| holds exactly in floating point, not just in exact arithmetic: both
  // run the same loop in the same order, |fl(a*b)| = fl(|a|*|b|), and if |s| <= m then
  // |fl(s + p)| = fl(|s + p|) <= fl(m + |p|) because rounding is monotonic.
  const prng = new Prng(0xa85);
  let mismatches = 0;
  let belowGradient = 0;
  let elements = 0;
  const cases = 80;
  for (let caseIndex = 0; caseIndex < cases; caseIndex++) {
    const testCase = randomConvCase(prng);
    const { x, w, dy, params } = testCase;
    const magnitude = conv2dBackwardMagnitude(x, w, dy, params);
    const ofAbsolute = conv2dBackward(absolute(x), absolute(w), absolute(dy), params);
    const gradients = conv2dBackward(x, w, dy, params);
    for (const name of ['dx', 'dw', 'db'] as const) {
      t.same(magnitude[name].shape, gradients[name].shape);
      for (let index = 0; index < magnitude[name].data.length; index++) {
        elements++;
        if (magnitude[name].data[index] !== ofAbsolute[name].data[index]) mismatches++;
        if (!(magnitude[name].data[index] >= Math.abs(gradients[name].data[index]))) belowGradient++;
      }
    }
    // The inputs are not modified.
    t.ok(x.data.some((value) => value < 0), 'x still has negative values');
  }
  t.equal(mismatches, 0, `${elements} elements equal the backward of absolute values`);
  t.equal(belowGradient, 0, 'M >= |g| everywhere');
  // Hand check on the 3x3 case: |dy| = [1, 1, 2, 3], so db = 7 and dx[0,1] = 1*2 + 1*1 = 3.
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: NO_PADS, groups: 1 };
  const hand = conv2dBackwardMagnitude(
    float64Tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    float64Tensor([1, 1, 2, 2], [1, 2, 3, 4]),
    float64Tensor([1, 1, 2, 2], [1, -1, 2, 3]),
    params,
  );
  t.same(values(hand.db), [7]);
  t.equal(hand.dx.data[1], 3);
});

// ---------------------------------------------------------------------------
// Unread rows and columns, and the oracle's boundary checks.

t.test('rows and columns no window reads get dx exactly 0; the last one read does not', async (t) => {
  const prng = new Prng(0x7a1);
  let checkedCases = 0;
  let withTail = 0;
  let problems = 0;
  let nothingRead = 0;
  for (let caseIndex = 0; caseIndex < 150; caseIndex++) {
    const testCase = randomConvCase(prng, { allowNothingRead: true });
    const { config, x, w, dy, params } = testCase;
    const { dx, dw } = conv2dBackward(x, w, dy, params);
    const { inHeight, inWidth, batch, inChannels } = config;
    const tailRows = unreadTailSize(inHeight, config.kernelHeight, params.stride[0], params.dilation[0], params.pads.top, params.pads.bottom);
    const tailCols = unreadTailSize(inWidth, config.kernelWidth, params.stride[1], params.dilation[1], params.pads.left, params.pads.right);
    if (tailRows > 0 || tailCols > 0) withTail++;
    if (tailRows === inHeight || tailCols === inWidth) {
      // No window reads any input value: dw is exactly 0 as well.
      nothingRead++;
      if (dw.data.some((value) => value !== 0)) problems++;
    }
    const at = (n: number, channel: number, row: number, col: number): number => dx.data[((n * inChannels + channel) * inHeight + row) * inWidth + col];
    for (let n = 0; n < batch; n++)
      for (let channel = 0; channel < inChannels; channel++)
        for (let row = 0; row < inHeight; row++)
          for (let col = 0; col < inWidth; col++)
            if ((row >= inHeight - tailRows || col >= inWidth - tailCols) && !Object.is(at(n, channel, row, col), 0)) problems++;
    // The last row read (if any column is read) gets a sum of random normal products: nonzero.
    if (tailRows < inHeight && tailCols < inWidth) {
      let nonzero = false;
      for (let col = 0; col < inWidth - tailCols; col++) if (at(0, 0, inHeight - tailRows - 1, col) !== 0) nonzero = true;
      if (!nonzero) problems++;
    }
    checkedCases++;
  }
  t.equal(problems, 0, `${checkedCases} configurations, ${withTail} with unread rows or columns, ${nothingRead} reading no input`);
  t.ok(withTail >= 20 && nothingRead >= 3, 'enough configurations have an unread tail, and some read nothing');
  // convOutputSize and the dropped tail of the strided hand case, for the record.
  t.equal(convOutputSize(5, 2, 2, 1, 0, 0), 2);
});

t.test('the oracle rejects tensors that do not match their shapes', async (t) => {
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: NO_PADS, groups: 1 };
  const x = float64Tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = float64Tensor([1, 1, 2, 2], [1, 2, 3, 4]);
  const dy = float64Tensor([1, 1, 2, 2], [1, 1, 1, 1]);
  const messageOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      return isConformanceError(error, 'E_GEOMETRY') ? error.message : `unexpected ${String(error)}`;
    }
    return 'no error';
  };
  const short = { dtype: 'float64' as const, shape: [1, 1, 3, 3], data: new Float64Array(8) };
  t.match(messageOf(() => conv2dBackward(short, w, dy, params)), /^x: shape \[1, 1, 3, 3\] needs 9 elements, found 8$/);
  const single = { dtype: 'float64' as const, shape: [1, 1, 2, 2], data: new Float32Array(4) as unknown as Float64Array };
  t.match(messageOf(() => conv2dBackward(x, single, dy, params)), /^w: the oracle expects Float64Array data, found \[object Float32Array\]$/);
  t.match(messageOf(() => conv2dForward(x, w, float64Tensor([2], [0, 0]), params)), /^b: shape \[1\] needs 1 elements, found 2$/);
  t.match(messageOf(() => conv2dBackward(x, w, float64Tensor([1, 1, 3, 3], new Array(9).fill(0)), params)), /dy shape: expected \[1, 1, 2, 2\]/);
});
