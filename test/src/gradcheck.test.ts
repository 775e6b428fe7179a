/**
 * The gradient checks (src/gradcheck.ts): a correct forward/backward pair passes every
 * identity and difference on random grouped, strided, dilated and padded cases in float32
 * and float64; pairs whose backward belongs to another forward fail.
 */
import t from 'tap';
import { roundToDtype } from '../../src/dtype.js';
import { adjointChecks, differenceChecks, differenceStep, type ForwardCall, type GradcheckOutcome, type GradcheckTensors } from '../../src/gradcheck.js';
import { conv2dBackward, conv2dForward } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams, Dtype, Float64Tensor } from '../../src/types.js';
import { randomConvCase, type ConvCase } from '../helpers/random-conv.js';

function rounded(tensor: Float64Tensor, dtype: Dtype): Float64Tensor {
  return { dtype: 'float64', shape: tensor.shape, data: tensor.data.map((value) => roundToDtype(value, dtype)) };
}

/** An implementation in `dtype`: the exact result rounded once to the dtype (within every proven bound). */
function forwardIn(dtype: Dtype, params: Conv2dParams): ForwardCall {
  return async (x, w, b) => rounded(conv2dForward(x, w, b, params), dtype);
}

function tensorsFor(testCase: ConvCase, dtype: Dtype): GradcheckTensors {
  const x = rounded(testCase.x, dtype);
  const w = rounded(testCase.w, dtype);
  const b = rounded(testCase.b, dtype);
  const dy = rounded(testCase.dy, dtype);
  const gradients = conv2dBackward(x, w, dy, testCase.params);
  return {
    x, w, b, dy,
    y: rounded(conv2dForward(x, w, b, testCase.params), dtype),
    dx: rounded(gradients.dx, dtype),
    dw: rounded(gradients.dw, dtype),
    db: rounded(gradients.db, dtype),
  };
}

/** Three flat indices of a tensor: first, middle, last. */
function sample(tensor: Float64Tensor): number[] {
  return [...new Set([0, Math.floor(tensor.data.length / 2), tensor.data.length - 1])];
}

function statuses(outcomes: GradcheckOutcome[]): string[] {
  return outcomes.map((outcome) => `${outcome.name}: ${outcome.status}`);
}

t.test('a correct pair passes every check, in float32 and float64, on 40 random cases', async (t) => {
  const prng = new Prng(20261202);
  let worst = 0;
  for (let caseIndex = 0; caseIndex < 40; caseIndex++) {
    const testCase = randomConvCase(prng);
    for (const dtype of ['float32', 'float64'] as const) {
      const tensors = tensorsFor(testCase, dtype);
      const context = { dtype, fpmath: 'strict' as const, params: testCase.params };
      const outcomes = [
        ...adjointChecks(tensors, context),
        ...(await differenceChecks(tensors, context, forwardIn(dtype, testCase.params), { x: sample(tensors.x), w: sample(tensors.w) })),
      ];
      const failed = outcomes.filter((outcome) => outcome.status !== 'pass');
      if (failed.length > 0) t.fail(`case ${caseIndex} ${dtype}`, { failed });
      for (const outcome of outcomes) if (outcome.status !== 'skipped' && outcome.bound > 0) worst = Math.max(worst, outcome.difference / outcome.bound);
    }
  }
  t.ok(worst < 1, `every check within its bound (worst difference / bound ${worst.toFixed(3)})`);
});

t.test('a backward that ignores the bias its forward adds fails both identities', async (t) => {
  const testCase = randomConvCase(new Prng(7), { maxInput: 5 });
  const tensors = tensorsFor(testCase, 'float32');
  const withoutBias = { ...tensors, db: { ...tensors.db, data: new Float64Array(tensors.db.data.length) } };
  const outcomes = adjointChecks(withoutBias, { dtype: 'float32', fpmath: 'strict', params: testCase.params });
  t.same(statuses(outcomes), ['adjoint-x: fail', 'adjoint-w: fail']);
});

t.test('a forward that adds one more than its bias: the identities and the differences of x see it', async (t) => {
  // y = conv + b + 1: <y, dy> exceeds <x, dx> + <b, db> by sum(dy), far beyond the bound for random dy.
  const testCase = randomConvCase(new Prng(8), { maxInput: 5 });
  const tensors = tensorsFor(testCase, 'float64');
  const shifted = { ...tensors, y: { ...tensors.y, data: tensors.y.data.map((value) => value + 1) } };
  const context = { dtype: 'float64' as const, fpmath: 'strict' as const, params: testCase.params };
  t.same(statuses(adjointChecks(shifted, context)), ['adjoint-x: fail', 'adjoint-w: fail']);
  // The constant cancels in a central difference: those still pass, as they should (the derivative is unchanged).
  const forward: ForwardCall = async (x, w, b) => {
    const y = conv2dForward(x, w, b, testCase.params);
    return { ...y, data: y.data.map((value) => value + 1) };
  };
  const differences = await differenceChecks(tensors, context, forward, { x: sample(tensors.x), w: [] });
  t.ok(differences.every((outcome) => outcome.status === 'pass'), statuses(differences).join(', '));
});

t.test('a backward for the kernel rotated by 180 degrees fails the differences at the elements it gets wrong', async (t) => {
  // Backward of conv with w rotated (a correlation/convolution mix-up); the forward stays plain.
  const testCase = randomConvCase(new Prng(9), { maxInput: 6 });
  const tensors = tensorsFor(testCase, 'float32');
  const [outChannels, channelsPerGroup, kernelHeight, kernelWidth] = tensors.w.shape;
  const rotated = Float64Array.from(tensors.w.data);
  for (let o = 0; o < outChannels; o++) {
    for (let c = 0; c < channelsPerGroup; c++) {
      for (let kh = 0; kh < kernelHeight; kh++) {
        for (let kw = 0; kw < kernelWidth; kw++) {
          const base = (o * channelsPerGroup + c) * kernelHeight * kernelWidth;
          rotated[base + kh * kernelWidth + kw] = tensors.w.data[base + (kernelHeight - 1 - kh) * kernelWidth + (kernelWidth - 1 - kw)];
        }
      }
    }
  }
  const wrong = conv2dBackward(tensors.x, { ...tensors.w, data: rotated }, tensors.dy, testCase.params);
  const mixedUp = { ...tensors, dx: rounded(wrong.dx, 'float32') };
  const context = { dtype: 'float32' as const, fpmath: 'strict' as const, params: testCase.params };
  const allX = Array.from(tensors.x.data.keys());
  const differences = await differenceChecks(mixedUp, context, forwardIn('float32', testCase.params), { x: allX, w: [] });
  // Elements where the two dx differ by more than a float32 rounding must fail; the others may pass.
  const expectedFails = allX.filter((index) => Math.abs(mixedUp.dx.data[index] - tensors.dx.data[index]) > 1e-3 * (1 + Math.abs(tensors.dx.data[index])));
  t.ok(expectedFails.length > 0, `the rotation changes ${expectedFails.length} of ${allX.length} elements of dx (a non-symmetric random kernel)`);
  const failed = differences.filter((outcome) => outcome.status === 'fail').map((outcome) => outcome.name);
  t.same(failed.filter((name) => expectedFails.includes(Number(/\[(\d+)\]/.exec(name)?.[1]))), expectedFails.map((index) => `difference-x[${index}]`), 'every element the rotation changed is caught');
});

t.test('non-finite values skip the checks with the reason', async (t) => {
  const testCase = randomConvCase(new Prng(10), { maxInput: 4 });
  const tensors = tensorsFor(testCase, 'float32');
  const withInf = { ...tensors, x: { ...tensors.x, data: Float64Array.from(tensors.x.data, (value, index) => (index === 0 ? Infinity : value)) } };
  const context = { dtype: 'float32' as const, fpmath: 'strict' as const, params: testCase.params };
  const outcomes = [...adjointChecks(withInf, context), ...(await differenceChecks(withInf, context, forwardIn('float32', testCase.params), { x: [1], w: [0] }))];
  t.same(outcomes.map((outcome) => outcome.status), ['skipped', 'skipped', 'skipped', 'skipped']);
  t.match(outcomes[0], { reason: /not finite/ });
});

t.test('the difference step is a power of two at the scale of the tensor', async (t) => {
  t.equal(differenceStep({ dtype: 'float64', shape: [3], data: Float64Array.from([0.3, -2.5, 1]) }), 2, 'largest |v| 2.5 -> 2');
  t.equal(differenceStep({ dtype: 'float64', shape: [2], data: new Float64Array(2) }), 1, 'all zero -> 1');
});
