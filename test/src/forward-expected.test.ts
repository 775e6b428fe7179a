/**
 * The expected forward output (src/forward-expected.ts): y and its magnitude against
 * an independent direct loop, the magnitude's bound on |y|, the accumulation length,
 * y's own exactness rule at its threshold, and what drawAndCompute returns.
 */
import t from 'tap';
import { drawAndCompute } from '../../src/expected-values.js';
import { forwardBoundProblem, forwardExpectation, forwardRule } from '../../src/forward-expected.js';
import { conv2dGeometry } from '../../src/geometry.js';
import { conv2dForward } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams, DataFamily, Dtype } from '../../src/types.js';
import { describeConfig, float64Tensor, randomConvCase, type ConvCase } from '../helpers/random-conv.js';

const NO_PADS = { top: 0, bottom: 0, left: 0, right: 0 };
const PLAIN: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: NO_PADS, groups: 1 };

/**
 * Every output element's products, by a loop written apart from the oracle: for each
 * (n, o, oh, ow) it visits the taps of o's group and keeps those inside the input.
 */
function directProducts(testCase: ConvCase): number[][] {
  const [batch, inChannels, inHeight, inWidth] = testCase.xShape;
  const [outChannels, channelsPerGroup, kernelHeight, kernelWidth] = testCase.wShape;
  const [, , outHeight, outWidth] = testCase.dyShape;
  const { stride, dilation, pads, groups } = testCase.params;
  const outPerGroup = outChannels / groups;
  const products: number[][] = [];
  for (let n = 0; n < batch; n++)
    for (let o = 0; o < outChannels; o++)
      for (let oh = 0; oh < outHeight; oh++)
        for (let ow = 0; ow < outWidth; ow++) {
          const terms: number[] = [];
          for (let c = 0; c < channelsPerGroup; c++)
            for (let kh = 0; kh < kernelHeight; kh++)
              for (let kw = 0; kw < kernelWidth; kw++) {
                const row = oh * stride[0] - pads.top + kh * dilation[0];
                const col = ow * stride[1] - pads.left + kw * dilation[1];
                if (row < 0 || row >= inHeight || col < 0 || col >= inWidth) continue;
                const channel = Math.floor(o / outPerGroup) * channelsPerGroup + c;
                const xValue = testCase.x.data[((n * inChannels + channel) * inHeight + row) * inWidth + col];
                const wValue = testCase.w.data[((o * channelsPerGroup + c) * kernelHeight + kh) * kernelWidth + kw];
                terms.push(xValue * wValue);
              }
          products.push(terms);
        }
  return products;
}

t.test('y and yMagnitude equal a direct loop (integer data: bit for bit); |y| <= yMagnitude; accumulation length', async (t) => {
  // Integer data in [-3, 3] on small cases: every partial sum is a small integer, exact in
  // float64 in any order, so the direct loop's sums must match the oracle's exactly.
  const prng = new Prng(0x5e1f);
  for (let index = 0; index < 60; index++) {
    const testCase = randomConvCase(prng, { values: 'integer' });
    const forward = forwardExpectation(testCase.x, testCase.w, testCase.params, 'float32');
    const products = directProducts(testCase);
    const label = describeConfig(testCase.config);
    t.same(forward.y.shape, testCase.dyShape, `${label}: y is [N, Cout, OH, OW]`);
    t.same(forward.yMagnitude.shape, testCase.dyShape, `${label}: yMagnitude is [N, Cout, OH, OW]`);
    const ySums = products.map((terms) => terms.reduce((sum, term) => sum + term, 0));
    const magnitudeSums = products.map((terms) => terms.reduce((sum, term) => sum + Math.abs(term), 0));
    t.ok(ySums.every((value, at) => value === forward.y.data[at]), `${label}: y matches`);
    t.ok(magnitudeSums.every((value, at) => value === forward.yMagnitude.data[at]), `${label}: yMagnitude matches`);
    t.ok(forward.y.data.every((value, at) => Math.abs(value) <= forward.yMagnitude.data[at]), `${label}: |y| <= yMagnitude`);
    const [, channelsPerGroup, kernelHeight, kernelWidth] = testCase.wShape;
    t.equal(forward.accumulationLength, channelsPerGroup * kernelHeight * kernelWidth, `${label}: accumulation length (C/groups)*KH*KW`);
    t.ok(products.every((terms) => terms.length <= forward.accumulationLength), `${label}: no element sums more products than the length`);
  }
});

t.test('normal data: y within float64 rounding of the direct loop, |y| <= yMagnitude, rule bound', async (t) => {
  const prng = new Prng(0x5e20);
  for (let index = 0; index < 40; index++) {
    const testCase = randomConvCase(prng, { values: 'normal' });
    const forward = forwardExpectation(testCase.x, testCase.w, testCase.params, 'float64');
    const products = directProducts(testCase);
    const label = describeConfig(testCase.config);
    // Two float64 sums of the same k terms differ by at most 2*gamma_k(2^-53)*M; k <= 100 here, so 2*101*2^-53*M bounds it.
    const within = products.every((terms, at) => {
      const sum = terms.reduce((total, term) => total + term, 0);
      return Math.abs(sum - forward.y.data[at]) <= 2 * 101 * 2 ** -53 * forward.yMagnitude.data[at];
    });
    t.ok(within, `${label}: y within rounding`);
    t.ok(forward.y.data.every((value, at) => Math.abs(value) <= forward.yMagnitude.data[at]), `${label}: |y| <= yMagnitude`);
    t.equal(forward.rule, 'bound', `${label}: non-integer data is judged by the bound`);
  }
});

t.test("forwardRule: exact exactly when the data are integers and max magnitude <= 2^p (float16: p = 11)", async (t) => {
  // A 1x2 kernel of ones over two inputs: y = x0 + x1, one element, magnitude |x0| + |x1|.
  const w = float64Tensor([1, 1, 1, 2], [1, 1]);
  const rule = (x0: number, x1: number, dtype: Dtype) => forwardExpectation(float64Tensor([1, 1, 1, 2], [x0, x1]), w, PLAIN, dtype).rule;
  t.equal(rule(1024, 1024, 'float16'), 'exact', '1024 + 1024 = 2048 = 2^11: every partial sum is a float16 integer');
  // 2049 lies between the float16 neighbours 2048 and 2050: a float16 sum cannot produce it.
  t.equal(rule(1024, 1025, 'float16'), 'bound', '1024 + 1025 = 2049 > 2^11: not representable in float16');
  t.equal(rule(1024, 1025, 'float32'), 'exact', 'the same sum is exact in float32 (2049 <= 2^24)');
  t.equal(rule(-1024, 1025, 'float16'), 'bound', 'the proof uses the magnitude (2049), not |y| (1): conservative');
  t.equal(rule(0.5, 1, 'float32'), 'bound', 'a non-integer input is not proven exact');
  t.equal(rule(NaN, 1, 'float32'), 'bound', 'NaN is not an integer');
  t.equal(rule(Infinity, 1, 'float32'), 'bound', 'Infinity is not an integer');
  t.equal(rule(100, 100, 'bfloat16'), 'exact', '200 <= 2^8 in bfloat16');
  t.equal(rule(200, 100, 'bfloat16'), 'bound', '300 > 2^8 in bfloat16');
  const x = float64Tensor([1, 1, 1, 2], [2, 3]);
  t.equal(forwardRule(x.data, w.data, conv2dForward(x, w, undefined, PLAIN).data, 'float16'), 'exact', 'forwardRule judges the magnitude it is given');
});

t.test('forwardBoundProblem: a too long accumulation, a magnitude that could overflow, none for exact or ordinary y', async (t) => {
  // bfloat16: u = 2^-8, so k = 256 products give k*u = 1 and no finite bound.
  const halves = float64Tensor([1, 1, 1, 256], new Float64Array(256).fill(0.5));
  const long = forwardExpectation(halves, halves, PLAIN, 'bfloat16');
  t.equal(long.rule, 'bound');
  t.match(forwardBoundProblem(long, 'bfloat16'), /accumulation length 256 is too long for bfloat16/);
  t.equal(forwardBoundProblem(long, 'float32'), null, '256 * 2^-24 < 1 in float32');
  // float16's largest finite value is 65504: 2 * (300 * 200 + 0.5) >= 65504.
  const big = forwardExpectation(float64Tensor([1, 1, 1, 2], [300, 0.5]), float64Tensor([1, 1, 1, 2], [200, 1]), PLAIN, 'float16');
  t.match(forwardBoundProblem(big, 'float16'), /could overflow float16/);
  const exact = forwardExpectation(float64Tensor([1, 1, 1, 2], [3, 4]), float64Tensor([1, 1, 1, 2], [1, 2]), PLAIN, 'float16');
  t.equal(exact.rule, 'exact');
  t.equal(forwardBoundProblem(exact, 'float16'), null);
});

t.test('drawAndCompute returns the forward of the data it drew', async (t) => {
  const params: Conv2dParams = { stride: [2, 1], dilation: [1, 2], pads: { top: 1, bottom: 0, left: 2, right: 1 }, groups: 2 };
  const geometry = conv2dGeometry([2, 4, 7, 6], [6, 2, 3, 2], params);
  const families: DataFamily[] = ['exact', 'normal', 'wide', 'cancel', 'onehot-dy', 'zeros'];
  for (const family of families) {
    const computed = drawAndCompute({ id: `t-${family}`, family, variant: '', dtype: 'float32', seed: 7, params, geometry });
    if ('problem' in computed) {
      t.fail(`${family}: ${computed.problem}`);
      continue;
    }
    const x = float64Tensor(geometry.xShape, computed.data.x);
    const w = float64Tensor(geometry.wShape, computed.data.w);
    t.same(computed.forward.y, conv2dForward(x, w, undefined, params), `${family}: y = conv(x, w) without bias`);
    t.equal(computed.forward.accumulationLength, 2 * 3 * 2, `${family}: (C/groups)*KH*KW = 2*3*2`);
    // The exact family draws integers in [-3, 3]: 12 products of at most 9 give M <= 108 <= 2^24.
    t.equal(computed.forward.rule, family === 'exact' ? 'exact' : 'bound', `${family}: y's rule`);
  }
});
