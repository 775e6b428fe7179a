/**
 * Precision classes (src/precision-class.ts): the bounds hold for real Winograd and
 * reduced-precision-input computations on random data (fast-check), direct/strict is
 * today's rule, and declarations are validated.
 */
import fc from 'fast-check';
import t from 'tap';
import { compareOutput } from '../../src/compare.js';
import { roundToDtype, toFloat64Array } from '../../src/dtype.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../../src/oracle/index.js';
import {
  fftAlgorithmError,
  fftConstants,
  fftPlaneBound,
  fftSizes,
  classCoefficients,
  classElementBound,
  inputRoundoff,
  validatePrecision,
  winogradAbsoluteEvaluation,
  WINOGRAD_TILES,
  type WinogradTile,
} from '../../src/precision-class.js';
import { coefficientsForDtype, elementBound } from '../../src/tolerance.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams, Dtype, Float64Tensor, OutputName, Tensor } from '../../src/types.js';
import { roundToTf32, winogradBackward } from '../../conformance/self-test/winograd-kernel.js';
import { roundToBfloat16 } from '../../conformance/self-test/fast-rounding.js';

interface Problem {
  x: Float64Tensor;
  w: Float64Tensor;
  dy: Float64Tensor;
  params: Conv2dParams;
}

/** Random 3x3 stride-1 problems (values of `dtype`, scaled by random powers of two). */
function problem(seed: number, dtype: Dtype, sizes: { batch: number; channels: number; outChannels: number; height: number; width: number; pad: number; groups: number }): Problem {
  const prng = new Prng(seed);
  const { batch, channels, outChannels, height, width, pad, groups } = sizes;
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: { top: pad, bottom: pad, left: pad, right: pad }, groups };
  const outHeight = height + 2 * pad - 2;
  const outWidth = width + 2 * pad - 2;
  const draw = (shape: number[]): Float64Tensor => ({
    dtype: 'float64',
    shape,
    data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => roundToDtype(prng.normal() * 2 ** prng.integer(-3, 3), dtype)),
  });
  return { x: draw([batch, channels, height, width]), w: draw([outChannels, channels / groups, 3, 3]), dy: draw([batch, outChannels, outHeight, outWidth]), params };
}

const asTensor = (tensor: Float64Tensor, dtype: Dtype): Tensor => ({
  dtype,
  shape: tensor.shape,
  data: dtype === 'float32' ? Float32Array.from(tensor.data) : dtype === 'float64' ? tensor.data : Uint16Array.from([]),
});

const sizesArbitrary = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  groupsIndex: fc.integer({ min: 0, max: 1 }),
  perGroupIn: fc.integer({ min: 1, max: 3 }),
  perGroupOut: fc.integer({ min: 1, max: 3 }),
  height: fc.integer({ min: 1, max: 9 }),
  width: fc.integer({ min: 1, max: 9 }),
  pad: fc.integer({ min: 0, max: 2 }),
});

/** Worst |got - expected| / bound over an output, and the failing count. */
function judge(output: OutputName, problem: Problem, got: Tensor, bound: { depth: number; values: Float64Array } | null, fpmath: 'strict' | 'tf32' | 'bf16', dtype: Dtype) {
  const expected = conv2dBackward(problem.x, problem.w, problem.dy, problem.params)[output];
  const magnitude = conv2dBackwardMagnitude(problem.x, problem.w, problem.dy, problem.params)[output];
  const k = output === 'dx' ? (problem.w.shape[0] / problem.params.groups) * 9 : problem.dy.shape[0] * problem.dy.shape[2] * problem.dy.shape[3];
  const evaluation = bound ?? { depth: k, values: magnitude.data };
  return compareOutput({
    output,
    shape: expected.shape,
    dtype,
    rule: 'bound',
    accumulationLength: k,
    expected: expected.data,
    magnitude: magnitude.data,
    got: toFloat64Array(got.data, dtype),
    classBound: { coefficients: classCoefficients(evaluation.depth, k, dtype, fpmath), absoluteEvaluation: evaluation.values },
  });
}

t.test('Winograd matrices: F(2x2,3x3) and F(4x4,3x3) in float64 equal the direct gradients', async (t) => {
  for (const tile of WINOGRAD_TILES) {
    const p = problem(3, 'float64', { batch: 2, channels: 2, outChannels: 3, height: 7, width: 6, pad: 1, groups: 1 });
    const got = winogradBackward(tile, { x: asTensor(p.x, 'float64'), w: asTensor(p.w, 'float64'), dy: asTensor(p.dy, 'float64'), params: p.params, id: 't' });
    const expected = conv2dBackward(p.x, p.w, p.dy, p.params);
    for (const name of ['dx', 'dw', 'db'] as const) {
      const worst = Math.max(...Array.from(got[name]!.data as Float64Array, (value, index) => Math.abs(value - expected[name].data[index])));
      t.ok(worst < 1e-9, `F(${tile.output},3) ${name}: max difference ${worst}`);
    }
  }
});

t.test('property: genuine float32 Winograd (both tiles) stays within the winograd bound', async (t) => {
  for (const tile of WINOGRAD_TILES) {
    let worstScore = 0;
    fc.assert(
      fc.property(sizesArbitrary, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (sizes, seed) => {
        const groups = sizes.groupsIndex + 1;
        const p = problem(seed, 'float32', { batch: sizes.batch, channels: sizes.perGroupIn * groups, outChannels: sizes.perGroupOut * groups, height: sizes.height, width: sizes.width, pad: sizes.pad, groups });
        if (p.dy.shape[2] < 1 || p.dy.shape[3] < 1) return true;
        const got = winogradBackward(tile as WinogradTile, { x: asTensor(p.x, 'float32'), w: asTensor(p.w, 'float32'), dy: asTensor(p.dy, 'float32'), params: p.params, id: 'p' });
        const evaluation = winogradAbsoluteEvaluation(tile, p.x, p.w, p.dy, p.params);
        for (const name of ['dx', 'dw'] as const) {
          const metrics = judge(name, p, got[name]!, evaluation[name], 'strict', 'float32');
          worstScore = Math.max(worstScore, metrics.maxErrorInBounds);
          if (metrics.failingElements > 0) return false;
        }
        return true;
      }),
      { numRuns: 40, seed: 16 },
    );
    t.ok(worstScore < 1, `F(${tile.output}x${tile.output},3x3): worst error ${worstScore.toPrecision(3)} bounds`);
  }
});

t.test('Winograd really needs its wider bound: F(4x4,3x3) float32 exceeds the direct bound on some fixture', async (t) => {
  const p = problem(5, 'float32', { batch: 2, channels: 4, outChannels: 4, height: 12, width: 12, pad: 1, groups: 1 });
  const tile = WINOGRAD_TILES[1];
  const got = winogradBackward(tile, { x: asTensor(p.x, 'float32'), w: asTensor(p.w, 'float32'), dy: asTensor(p.dy, 'float32'), params: p.params, id: 'p' });
  const direct = judge('dx', p, got.dx!, null, 'strict', 'float32');
  t.ok(direct.maxErrorInBounds > 1, `direct bound exceeded ${direct.maxErrorInBounds.toPrecision(3)}x`);
  const evaluation = winogradAbsoluteEvaluation(tile, p.x, p.w, p.dy, p.params);
  t.equal(judge('dx', p, got.dx!, evaluation.dx, 'strict', 'float32').failingElements, 0);
});

t.test('property: direct sums on tf32- and bf16-rounded float32 inputs stay within the fpmath bound, not the strict one', async (t) => {
  for (const [fpmath, rounding] of [['tf32', roundToTf32], ['bf16', roundToBfloat16]] as const) {
    let exceedsStrict = false;
    fc.assert(
      fc.property(sizesArbitrary, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (sizes, seed) => {
        const p = problem(seed, 'float32', { batch: sizes.batch, channels: sizes.perGroupIn, outChannels: sizes.perGroupOut, height: sizes.height, width: sizes.width, pad: sizes.pad, groups: 1 });
        if (p.dy.shape[2] < 1 || p.dy.shape[3] < 1) return true;
        const rounded = (tensor: Float64Tensor): Float64Tensor => ({ ...tensor, data: tensor.data.map(rounding) });
        // Exact products of the rounded inputs, float32 accumulation in the oracle's order: one correct fpmath computation.
        const exact = conv2dBackward(rounded(p.x), rounded(p.w), rounded(p.dy), p.params);
        for (const name of ['dx', 'dw', 'db'] as const) {
          const got: Tensor = { dtype: 'float32', shape: exact[name].shape, data: Float32Array.from(exact[name].data) };
          if (judge(name, p, got, null, fpmath, 'float32').failingElements > 0) return false;
          if (judge(name, p, got, null, 'strict', 'float32').failingElements > 0) exceedsStrict = true;
        }
        return true;
      }),
      { numRuns: 60, seed: 8 },
    );
    t.ok(exceedsStrict, `${fpmath}: the strict float32 bound rejects some of these (so the wider bound is needed)`);
  }
});

t.test('direct/strict coefficients are today\'s rule; input roundoff by dtype and mode', async (t) => {
  for (const dtype of ['float16', 'float32', 'float64', 'bfloat16'] as const) {
    const direct = coefficientsForDtype(27, dtype);
    const strict = classCoefficients(27, 27, dtype, 'strict');
    t.equal(classElementBound(strict, 1.5, 10, 10), elementBound(direct, 1.5, 10), dtype);
  }
  t.equal(inputRoundoff('float32', 'tf32'), 2 ** -11);
  t.equal(inputRoundoff('float32', 'bf16'), 2 ** -8);
  t.equal(inputRoundoff('float16', 'tf32'), 0, 'float16 values are tf32 values');
  t.equal(inputRoundoff('float16', 'bf16'), 2 ** -8);
  t.equal(inputRoundoff('bfloat16', 'bf16'), 0);
});

t.test('validatePrecision: defaults, tiles, and clear problems', async (t) => {
  const problems: string[] = [];
  t.same(validatePrecision({}, problems), { algorithm: 'direct', fpmath: 'strict' });
  t.same(validatePrecision({ algorithm: 'winograd', tile: { output: 4, kernel: 3 }, fpmath: 'tf32' }, problems), { algorithm: 'winograd', tile: { output: 4, kernel: 3 }, fpmath: 'tf32' });
  t.same(problems, []);
  t.equal(validatePrecision({ algorithm: 'winograd' }, problems), null);
  t.match(problems[0], /precision.tile: expected \{ output: 2, kernel: 3 \} or \{ output: 4, kernel: 3 \}/);
  t.equal(validatePrecision({ fpmath: 'fp8' }, problems), null);
  t.match(problems[1], /precision.fpmath: expected one of strict, tf32, bf16, found "fp8"/);
  t.equal(validatePrecision('fast', problems), null);
  t.match(problems[2], /precision: expected an object/);
  t.same(validatePrecision({ algorithm: 'fft' }, problems), { algorithm: 'fft', fpmath: 'strict' });
  t.equal(problems.length, 3, 'fft is accepted');
  t.equal(validatePrecision({ algorithm: 'fft', tile: { output: 2, kernel: 3 } }, problems), null);
  t.match(problems[3], /precision.tile: only for algorithm winograd, found a tile with algorithm "fft"/);
});

t.test('fft: sizes hold both linear correlations; the bound follows its formula and grows with the size', async (t) => {
  // H = 7, pads 1 + 1, OH = 7, stride 1, K = 3, dilation 1: 7 + 2 + 6 + 2 + 1 = 18 -> 32; width 6 + 2 + 5 + 2 + 1 = 16 -> 16.
  const params = { stride: [1, 1] as [number, number], dilation: [1, 1] as [number, number], pads: { top: 1, bottom: 1, left: 1, right: 1 }, groups: 1 };
  t.same(fftSizes([2, 3, 7, 6], [4, 3, 3, 3], [2, 4, 7, 6], params), [32, 16]);
  const small = fftConstants('float32', [32, 16]);
  const large = fftConstants('float32', [64, 64]);
  // ell = 9 levels; eta_F = 2u + gamma_4(u)(sqrt2 + 2u), epsilon = ell eta_F / (1 - ell eta_F).
  const u = 2 ** -24;
  const etaF = 2 * u + ((4 * u) / (1 - 4 * u)) * (Math.SQRT2 + 2 * u);
  t.equal(small.levels, 9);
  t.ok(Math.abs(small.epsilon - (9 * etaF) / (1 - 9 * etaF)) <= 1e-22);
  t.ok(large.epsilon > small.epsilon && large.rootL > small.rootL, 'a larger transform, a larger bound');
  t.equal(fftConstants('bfloat16', [2 ** 40, 2 ** 40]).epsilon, Infinity, 'ell * eta_F >= 1: no bound');
  // One term, a = b = one nonzero value 1: N = 1, and B is the formula by hand.
  const one = { two: 1, one: 1 };
  const { algorithm, exactNorm } = fftAlgorithmError(small, [[one, one]]);
  const eps = small.epsilon;
  const r = small.rootL;
  const T = 2 * eps + eps * eps * r + small.product * (1 + eps) * (1 + eps * r);
  t.equal(exactNorm, 1);
  t.ok(Math.abs(algorithm - ((1 + eps) * T + eps)) <= 1e-15 * algorithm);
  t.same(fftAlgorithmError(small, [[{ two: 0, one: 0 }, one]]), { algorithm: 0, exactNorm: 0 }, 'a zero operand: no error');
  // The plane bound adds the final rounding, the reference's error and the underflow floor.
  const bound = fftPlaneBound(small, algorithm, 1, 0, 9, 1);
  t.ok(Math.abs(bound - (algorithm + u * (1 + algorithm) + (2 * 9 + 1 + 4) * 512 * 2 ** -149)) <= 1e-15 * bound);
});
