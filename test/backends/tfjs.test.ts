/**
 * The TF.js witness against the float64 oracle: agreement within the float32
 * error bound (src/tolerance.ts) over seeded random convolutions, the backend
 * selection, input checks, and that a wrong expected value is caught.
 */
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { createTfjsBackend, TfjsBackend } from '../../backends/tfjs.js';
import { compareOutput } from '../../src/compare.js';
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { accumulationLengths, conv2dGeometry, convOutputSize, effectiveKernelSize, shapeSize, unreadTailSize } from '../../src/geometry.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../../src/oracle/index.js';
import { coefficientsForDtype, elementBound } from '../../src/tolerance.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams, Dtype, Float64Tensor, OutputMetrics, OutputName, Pads, Tensor } from '../../src/types.js';
import type { BackendResult } from '../../backends/backend.js';

// ---------------------------------------------------------------------------
// Random convolutions

interface RandomConv {
  xShape: number[];
  wShape: number[];
  params: Conv2dParams;
  dtype: Dtype;
}

/** The scenario a case is drawn for; cycling through them guarantees each appears. */
const SCENARIOS = ['symmetric', 'top only', 'bottom only', 'left only', 'right only', 'pads >= kernel', 'kernel > input', 'depthwise x2', 'random'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** A random conv drawn for the scenario; `minDilation` raises the dilation drawn per axis. */
function randomConv(prng: Prng, scenario: Scenario, minDilation: [number, number] = [1, 1]): RandomConv {
  const depthwise = scenario === 'depthwise x2';
  const groups = depthwise ? prng.integer(2, 4) : prng.pick([1, 1, 2, 3]);
  const inPerGroup = depthwise ? 1 : prng.integer(1, 3);
  const outPerGroup = depthwise ? 2 : prng.integer(1, 3);
  const kernel: [number, number] = [prng.integer(1, 4), prng.integer(1, 4)];
  const stride: [number, number] = [prng.integer(1, 3), prng.integer(1, 3)];
  const dilation: [number, number] = [Math.max(minDilation[0], prng.pick([1, 1, 2, 3])), Math.max(minDilation[1], prng.pick([1, 1, 2, 3]))];
  const span = [effectiveKernelSize(kernel[0], dilation[0]), effectiveKernelSize(kernel[1], dilation[1])];
  const side = (): number => prng.integer(1, 3);
  let pads: Pads;
  switch (scenario) {
    case 'symmetric': {
      const [padH, padW] = [prng.integer(0, 2), prng.integer(0, 2)];
      pads = { top: padH, bottom: padH, left: padW, right: padW };
      break;
    }
    case 'top only':
      pads = { top: side(), bottom: 0, left: 0, right: 0 };
      break;
    case 'bottom only':
      pads = { top: 0, bottom: side(), left: 0, right: 0 };
      break;
    case 'left only':
      pads = { top: 0, bottom: 0, left: side(), right: 0 };
      break;
    case 'right only':
      pads = { top: 0, bottom: 0, left: 0, right: side() };
      break;
    case 'pads >= kernel':
      pads = {
        top: kernel[0] + prng.integer(0, 2),
        bottom: prng.integer(0, kernel[0] + 1),
        left: prng.integer(0, kernel[1] + 1),
        right: kernel[1] + prng.integer(0, 2),
      };
      break;
    default:
      pads = { top: prng.integer(0, 3), bottom: prng.integer(0, 3), left: prng.integer(0, 3), right: prng.integer(0, 3) };
  }
  const inputSize = (axis: 0 | 1, before: number, after: number): number => {
    if (scenario === 'kernel > input' && span[axis] > 1) {
      // An input smaller than the dilated kernel; the padding makes one window fit.
      return prng.integer(1, span[axis] - 1);
    }
    return Math.max(1, span[axis] - before - after, prng.integer(1, 9));
  };
  if (scenario === 'kernel > input') {
    // Make the kernels span at least 2 and pad enough for them.
    if (span[0] === 1) kernel[0] = 2;
    if (span[1] === 1) kernel[1] = 2;
    span[0] = effectiveKernelSize(kernel[0], dilation[0]);
    span[1] = effectiveKernelSize(kernel[1], dilation[1]);
  }
  const height = inputSize(0, pads.top, pads.bottom);
  const width = inputSize(1, pads.left, pads.right);
  if (scenario === 'kernel > input') {
    // Put the missing rows/columns in the padding, split at random between the sides.
    const missingH = Math.max(0, span[0] - height - pads.top - pads.bottom);
    const missingW = Math.max(0, span[1] - width - pads.left - pads.right);
    const topShare = prng.integer(0, missingH);
    const leftShare = prng.integer(0, missingW);
    pads = { top: pads.top + topShare, bottom: pads.bottom + missingH - topShare, left: pads.left + leftShare, right: pads.right + missingW - leftShare };
  }
  return {
    xShape: [prng.integer(1, 3), groups * inPerGroup, height, width],
    wShape: [groups * outPerGroup, inPerGroup, kernel[0], kernel[1]],
    params: { stride, dilation, pads, groups },
    dtype: prng.pick(['float16', 'float32', 'float64'] as const),
  };
}

/** The features of a case the brief asks the agreement test to cover. */
function featuresOf(conv: RandomConv): string[] {
  const geometry = conv2dGeometry(conv.xShape, conv.wShape, conv.params);
  const { stride, dilation, pads, groups } = conv.params;
  const features: string[] = [`dtype ${conv.dtype}`];
  if (groups > 1 && geometry.inChannelsPerGroup > 1) features.push('groups');
  if (groups > 1 && geometry.inChannelsPerGroup === 1 && geometry.outChannelsPerGroup === 2) features.push('depthwise, multiplier 2');
  if (dilation[0] > 1 || dilation[1] > 1) features.push('dilation');
  if (dilation[0] !== dilation[1]) features.push('dilation differs per axis');
  if (stride[0] !== stride[1]) features.push('stride differs per axis');
  if (stride[0] > 1 || stride[1] > 1) features.push('stride');
  if (pads.top !== pads.bottom || pads.left !== pads.right) features.push('asymmetric pads');
  const sides = (['top', 'bottom', 'left', 'right'] as const).filter((key) => pads[key] > 0);
  if (sides.length === 1) features.push(`only ${sides[0]} pad`);
  if (pads.top >= geometry.kernelHeight || pads.bottom >= geometry.kernelHeight || pads.left >= geometry.kernelWidth || pads.right >= geometry.kernelWidth) {
    features.push('a pad >= kernel');
  }
  const spanH = effectiveKernelSize(geometry.kernelHeight, dilation[0]);
  const spanW = effectiveKernelSize(geometry.kernelWidth, dilation[1]);
  if (spanH > geometry.inHeight || spanW > geometry.inWidth) features.push('kernel > input');
  const notDivisible =
    (geometry.inHeight + pads.top + pads.bottom - spanH) % stride[0] !== 0 || (geometry.inWidth + pads.left + pads.right - spanW) % stride[1] !== 0;
  if (notDivisible) features.push('size not divisible by stride');
  const tail =
    unreadTailSize(geometry.inHeight, geometry.kernelHeight, stride[0], dilation[0], pads.top, pads.bottom) > 0 ||
    unreadTailSize(geometry.inWidth, geometry.kernelWidth, stride[1], dilation[1], pads.left, pads.right) > 0;
  if (tail) features.push('unread tail rows');
  if (geometry.batch > 1) features.push('batch > 1');
  return features;
}

/** A tensor of the dtype with random normal values (float64 ones are float32 values, as the generator guarantees). */
function randomTensor(prng: Prng, shape: number[], dtype: Dtype): Tensor {
  const values = new Float64Array(shapeSize(shape));
  for (let index = 0; index < values.length; index++) values[index] = Math.fround(prng.normal());
  return { dtype, shape, data: fromFloat64Array(values, dtype) };
}

function decoded(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: tensor.shape, data: toFloat64Array(tensor.data, tensor.dtype) };
}

// ---------------------------------------------------------------------------
// Agreement

interface Agreement {
  metrics: OutputMetrics[];
  failing: number;
  maxErrorInBounds: number;
}

/** The witness's result judged against the oracle with the float32 bound. */
function judge(x: Tensor, w: Tensor, dy: Tensor, params: Conv2dParams, result: BackendResult, override?: Partial<Record<OutputName, Float64Array>>): Agreement {
  const geometry = conv2dGeometry(x.shape, w.shape, params);
  const expected = conv2dBackward(decoded(x), decoded(w), decoded(dy), params);
  const magnitude = conv2dBackwardMagnitude(decoded(x), decoded(w), decoded(dy), params);
  const lengths = accumulationLengths(geometry);
  const metrics = (['dx', 'dw', 'db'] as const).map((output) =>
    compareOutput({
      output,
      shape: expected[output].shape,
      dtype: result.computeDtype,
      rule: 'bound',
      accumulationLength: lengths[output],
      expected: override?.[output] ?? expected[output].data,
      magnitude: magnitude[output].data,
      got: result[output],
    }),
  );
  return {
    metrics,
    failing: metrics.reduce((sum, metric) => sum + metric.failingElements, 0),
    maxErrorInBounds: Math.max(...metrics.map((metric) => metric.maxErrorInBounds)),
  };
}

let witness: TfjsBackend;

t.before(async () => {
  witness = await createTfjsBackend({ backend: 'cpu' });
});

t.teardown(async () => {
  await witness.dispose();
});

t.test('backend selection: tfjs-node when it loads, else tfjs-cpu with the reason kept', async (t) => {
  t.equal(witness.name, 'tfjs-cpu');
  t.equal(witness.version, tf.version['tfjs-backend-cpu']);
  t.equal(witness.fallbackReason, null, "backend 'cpu' does not try tfjs-node");

  const automatic = await createTfjsBackend();
  t.ok(automatic.name === 'tfjs-node' || automatic.name === 'tfjs-cpu');
  if (automatic.name === 'tfjs-cpu') {
    t.match(automatic.fallbackReason, /@tensorflow\/tfjs-node could not be used \(.+\)/, `reason kept: ${automatic.fallbackReason}`);
  } else {
    t.equal(automatic.fallbackReason, null);
  }
  await automatic.dispose();
  if (automatic.name === 'tfjs-cpu') t.equal(tf.getBackend(), 'cpu');
});

t.test('agrees with the oracle within the float32 bound on 360 seeded random convolutions', async (t) => {
  const prng = new Prng(2024);
  const featureCounts = new Map<string, number>();
  const failures: string[] = [];
  let maxErrorInBounds = 0;
  let worst = '';
  let phased = 0;
  const tensorsBefore = witness.tensorCount();
  const caseCount = 360;
  for (let index = 0; index < caseCount; index++) {
    const conv = randomConv(prng, SCENARIOS[index % SCENARIOS.length]);
    for (const feature of featuresOf(conv)) featureCounts.set(feature, (featureCounts.get(feature) ?? 0) + 1);
    const geometry = conv2dGeometry(conv.xShape, conv.wShape, conv.params);
    const x = randomTensor(prng, conv.xShape, conv.dtype);
    const w = randomTensor(prng, conv.wShape, conv.dtype);
    const dy = randomTensor(prng, geometry.dyShape, conv.dtype);
    const result = await witness.compute({ x, w, dy, params: conv.params });
    if (witness.lastCompute?.dilatedInput === 'phases') phased++;
    const agreement = judge(x, w, dy, conv.params, result);
    const label = JSON.stringify({ xShape: conv.xShape, wShape: conv.wShape, params: conv.params, dtype: conv.dtype });
    if (agreement.failing > 0 || result.computeDtype !== 'float32') failures.push(`${label}: ${JSON.stringify(agreement.metrics.map((metric) => metric.worst))}`);
    if (agreement.maxErrorInBounds > maxErrorInBounds) {
      maxErrorInBounds = agreement.maxErrorInBounds;
      worst = label;
    }
  }
  t.same(failures, [], 'zero failing elements in dx, dw and db');
  t.equal(phased, 0, 'finite dy: dilated dx always by zero insertion');
  t.equal(witness.tensorCount(), tensorsBefore, 'no tensor leaked over the run');
  t.comment(`max error seen: ${maxErrorInBounds.toExponential(3)} bounds (${worst})`);
  t.ok(maxErrorInBounds < 1, 'the max error is under one bound');

  // Every feature the brief lists occurs several times (5 is an arbitrary floor well under the expected counts).
  const required = [
    'groups',
    'depthwise, multiplier 2',
    'dilation',
    'dilation differs per axis',
    'stride',
    'stride differs per axis',
    'asymmetric pads',
    'only top pad',
    'only bottom pad',
    'only left pad',
    'only right pad',
    'a pad >= kernel',
    'kernel > input',
    'size not divisible by stride',
    'unread tail rows',
    'batch > 1',
    'dtype float16',
    'dtype float32',
    'dtype float64',
  ];
  const rare = required.filter((feature) => (featureCounts.get(feature) ?? 0) < 5);
  t.same(rare, [], `coverage: ${JSON.stringify(Object.fromEntries(featureCounts))}`);
});

t.test('hand-picked edges: pads >= kernel on each side alone, dropped tail rows, kernel > input', async (t) => {
  const prng = new Prng(7);
  const zero = { top: 0, bottom: 0, left: 0, right: 0 };
  const cases: { what: string; xShape: number[]; wShape: number[]; params: Conv2dParams }[] = [
    { what: 'top pad 4 > kernel 2', xShape: [1, 2, 5, 5], wShape: [3, 2, 2, 2], params: { stride: [1, 1], dilation: [1, 1], pads: { ...zero, top: 4 }, groups: 1 } },
    { what: 'bottom pad 3 > kernel 2', xShape: [1, 2, 5, 5], wShape: [3, 2, 2, 2], params: { stride: [1, 1], dilation: [1, 1], pads: { ...zero, bottom: 3 }, groups: 1 } },
    { what: 'left pad 5 > kernel 3', xShape: [2, 1, 4, 6], wShape: [2, 1, 3, 3], params: { stride: [1, 2], dilation: [1, 1], pads: { ...zero, left: 5 }, groups: 1 } },
    { what: 'right pad 3 = kernel 3', xShape: [2, 1, 4, 6], wShape: [2, 1, 3, 3], params: { stride: [2, 1], dilation: [1, 1], pads: { ...zero, right: 3 }, groups: 1 } },
    // (7 - 2) / 3 = 1 rem 2: rows 5 and 6 are read by no window.
    { what: 'H=7, K=2, S=3: two unread tail rows', xShape: [1, 1, 7, 7], wShape: [1, 1, 2, 2], params: { stride: [3, 3], dilation: [1, 1], pads: zero, groups: 1 } },
    // Dilated span 2*(3-1)+1 = 5 > input 3; pads 1 + 1 make the padded input 5.
    { what: 'dilated kernel 5 > input 3', xShape: [1, 2, 3, 3], wShape: [2, 1, 3, 3], params: { stride: [1, 1], dilation: [2, 2], pads: { top: 1, bottom: 1, left: 1, right: 1 }, groups: 2 } },
  ];
  for (const edge of cases) {
    const geometry = conv2dGeometry(edge.xShape, edge.wShape, edge.params);
    const x = randomTensor(prng, edge.xShape, 'float32');
    const w = randomTensor(prng, edge.wShape, 'float32');
    const dy = randomTensor(prng, geometry.dyShape, 'float32');
    const result = await witness.compute({ x, w, dy, params: edge.params });
    const agreement = judge(x, w, dy, edge.params, result);
    t.equal(agreement.failing, 0, `${edge.what}: agrees (max ${agreement.maxErrorInBounds.toExponential(2)} bounds)`);
  }
  // The unread tail rows get exactly 0.
  const tail = cases[4];
  const tailRows = unreadTailSize(7, 2, 3, 1, 0, 0);
  t.equal(tailRows, 2);
  const geometry = conv2dGeometry(tail.xShape, tail.wShape, tail.params);
  t.equal(geometry.outHeight, convOutputSize(7, 2, 3, 1, 0, 0));
  const result = await witness.compute({
    x: randomTensor(prng, tail.xShape, 'float32'),
    w: randomTensor(prng, tail.wShape, 'float32'),
    dy: randomTensor(prng, geometry.dyShape, 'float32'),
    params: tail.params,
  });
  const tailValues = Array.from(result.dx.subarray((7 - tailRows) * 7));
  t.same(tailValues, new Array(tailRows * 7).fill(0), 'dx of rows 5 and 6 is 0');
});

t.test('non-finite inputs with dilation and groups: NaN and Inf where the oracle has them', async (t) => {
  const prng = new Prng(99);
  const failures: string[] = [];
  let phased = 0;
  for (let index = 0; index < 40; index++) {
    const conv = randomConv(prng, SCENARIOS[index % SCENARIOS.length], [1, 2]);
    const geometry = conv2dGeometry(conv.xShape, conv.wShape, conv.params);
    const x = randomTensor(prng, conv.xShape, conv.dtype);
    const w = randomTensor(prng, conv.wShape, conv.dtype);
    const dy = randomTensor(prng, geometry.dyShape, conv.dtype);
    for (const tensor of [x, w, dy]) {
      const special = fromFloat64Array(new Float64Array([prng.pick([Infinity, -Infinity, NaN])]), tensor.dtype);
      tensor.data[prng.integer(0, tensor.data.length - 1)] = special[0];
    }
    const result = await witness.compute({ x, w, dy, params: conv.params });
    if (witness.lastCompute?.dilatedInput === 'phases') phased++;
    const agreement = judge(x, w, dy, conv.params, result);
    if (agreement.failing > 0) failures.push(JSON.stringify({ ...conv, worst: agreement.metrics.map((metric) => metric.worst) }));
  }
  t.same(failures, [], 'zero failing elements');
  t.equal(phased, 40, 'dilated with a non-finite dy: dx by phases every time');
});

t.test('a deliberately wrong expected value is flagged against the witness result', async (t) => {
  const prng = new Prng(5);
  const params: Conv2dParams = { stride: [2, 1], dilation: [1, 2], pads: { top: 1, bottom: 0, left: 2, right: 1 }, groups: 2 };
  const xShape = [2, 4, 6, 7];
  const wShape = [4, 2, 3, 2];
  const geometry = conv2dGeometry(xShape, wShape, params);
  const x = randomTensor(prng, xShape, 'float32');
  const w = randomTensor(prng, wShape, 'float32');
  const dy = randomTensor(prng, geometry.dyShape, 'float32');
  const result = await witness.compute({ x, w, dy, params });
  const honest = judge(x, w, dy, params, result);
  t.equal(honest.failing, 0, 'the true expected values pass');

  const expected = conv2dBackward(decoded(x), decoded(w), decoded(dy), params);
  const magnitude = conv2dBackwardMagnitude(decoded(x), decoded(w), decoded(dy), params);
  const lengths = accumulationLengths(geometry);
  for (const output of ['dx', 'dw', 'db'] as const) {
    const metrics = honest.metrics.find((metric) => metric.output === output)!;
    const flatIndex = Math.floor(expected[output].data.length / 2);
    const bound = elementBound(coefficientsForDtype(lengths[output], 'float32'), expected[output].data[flatIndex], magnitude[output].data[flatIndex]);
    // Move one element by 4 bounds. Then |got - moved| >= 4*bound - |got - expected| >= 3*bound,
    // while the bound at the moved value grows only by u*4*bound (u = 2^-24): it must fail.
    const moved = Float64Array.from(expected[output].data);
    moved[flatIndex] += 4 * bound;
    const wrong = judge(x, w, dy, params, result, { [output]: moved });
    const flagged = wrong.metrics.find((metric) => metric.output === output)!;
    t.equal(flagged.failingElements, 1, `${output}: exactly the moved element fails (honest max ${metrics.maxErrorInBounds.toExponential(2)} bounds)`);
    t.equal(flagged.worst?.flatIndex, flatIndex, `${output}: the worst element is the moved one`);
    t.ok(flagged.maxErrorInBounds >= 3, `${output}: by at least 3 bounds (${flagged.maxErrorInBounds.toFixed(3)})`);
  }
});

t.test('float64 inputs that are not float32 values are refused with a clear error', async (t) => {
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: { top: 0, bottom: 0, left: 0, right: 0 }, groups: 1 };
  const x: Tensor = { dtype: 'float64', shape: [1, 1, 2, 2], data: new Float64Array([1, 0.1, 2, 3]) };
  const w: Tensor = { dtype: 'float64', shape: [1, 1, 1, 1], data: new Float64Array([1]) };
  const dy: Tensor = { dtype: 'float64', shape: [1, 1, 2, 2], data: new Float64Array([1, 1, 1, 1]) };
  await t.rejects(witness.compute({ x, w, dy, params }), { code: 'E_WITNESS', message: /x\[1\] = 0\.1 \(float64\) is not exactly representable in float32/ });
  const wrongStorage: Tensor = { dtype: 'float32', shape: [1, 1, 2, 2], data: new Float64Array(4) };
  await t.rejects(witness.compute({ x: wrongStorage, w, dy, params }), { code: 'E_WITNESS', message: /needs a Float32Array, found \[object Float64Array\]/ });
});
