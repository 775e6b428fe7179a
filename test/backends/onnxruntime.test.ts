import { createRequire } from 'node:module';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import t from 'tap';
import type { BackendResult } from '../../backends/backend.js';
import { buildConv2dBackwardModel, createOnnxruntimeBackend, probeNativeFloat16 } from '../../backends/onnxruntime.js';
import { compareOutput } from '../../src/compare.js';
import { fromFloat64Array, roundToDtype, toFloat64Array } from '../../src/dtype.js';
import { accumulationLengths, conv2dBackwardGeometry, unreadTailSize, type Conv2dGeometry } from '../../src/geometry.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import { coefficientsForDtype, elementBound } from '../../src/tolerance.js';
import type { Conv2dGradients, Conv2dParams, Dtype, Float64Tensor, OutputName, Tensor } from '../../src/types.js';
import { OUTPUT_NAMES } from '../../src/types.js';
import { convFeatures, describeConfig, randomConvCase, type ConvCase, type ConvConfig } from '../helpers/random-conv.js';

/** A random case whose inputs are values of `dtype` (float64 fixtures keep float32 values: the witness's stated assumption). */
interface DtypeCase {
  convCase: ConvCase;
  dtype: Dtype;
  geometry: Conv2dGeometry;
  /** The inputs as the oracle sees them (float64 holding the dtype's values). */
  x: Float64Tensor;
  w: Float64Tensor;
  dy: Float64Tensor;
  /** The same inputs stored in the dtype, for the witness. */
  request: { x: Tensor; w: Tensor; dy: Tensor; params: Conv2dParams };
}

function dtypeCase(prng: Prng, dtype: Dtype): DtypeCase {
  const convCase = randomConvCase(prng);
  const valueDtype: Dtype = dtype === 'float64' ? 'float32' : dtype;
  const round = (tensor: Float64Tensor): Float64Tensor => ({ ...tensor, data: tensor.data.map((value) => roundToDtype(value, valueDtype)) });
  const stored = (tensor: Float64Tensor): Tensor => ({ dtype, shape: tensor.shape, data: fromFloat64Array(tensor.data, dtype) });
  const x = round(convCase.x);
  const w = round(convCase.w);
  const dy = round(convCase.dy);
  return {
    convCase,
    dtype,
    geometry: conv2dBackwardGeometry(x.shape, w.shape, dy.shape, convCase.params),
    x,
    w,
    dy,
    request: { x: stored(x), w: stored(w), dy: stored(dy), params: convCase.params },
  };
}

interface Reference {
  expected: Conv2dGradients;
  magnitude: Conv2dGradients;
}

function compareAll(testCase: DtypeCase, expected: Conv2dGradients, magnitude: Conv2dGradients, result: BackendResult, output: OutputName) {
  return compareOutput({
    output,
    shape: expected[output].shape,
    dtype: result.computeDtype,
    rule: 'bound',
    accumulationLength: accumulationLengths(testCase.geometry)[output],
    expected: expected[output].data,
    magnitude: magnitude[output].data,
    got: result[output],
  });
}

/** Features the random set must cover beyond convFeatures(). */
function extraFeatures(config: ConvConfig): string[] {
  const { params } = config;
  const features: string[] = [];
  if (params.stride[0] !== params.stride[1]) features.push('stride-differs-per-axis');
  const tailRows = unreadTailSize(config.inHeight, config.kernelHeight, params.stride[0], params.dilation[0], params.pads.top, params.pads.bottom);
  const tailCols = unreadTailSize(config.inWidth, config.kernelWidth, params.stride[1], params.dilation[1], params.pads.left, params.pads.right);
  if (tailRows > 0 || tailCols > 0) features.push('dropped-tail');
  return features;
}

const witness = await createOnnxruntimeBackend();
t.teardown(() => witness.dispose());

t.test('name and version come from the package', async (t) => {
  const require = createRequire(import.meta.url);
  t.equal(witness.name, 'onnxruntime-node');
  t.equal(witness.version, (require('onnxruntime-node/package.json') as { version: string }).version);
});

t.test('float16 probe reads which kernels ran', async (t) => {
  const probe = await probeNativeFloat16();
  for (const op of ['Conv', 'ConvTranspose', 'ReduceSum']) t.ok(probe.kernels.some((kernel) => kernel.opName === op), `profile has ${op}`);
  t.equal(await witness.float16ComputeDtype(), probe.native ? 'float16' : 'float32');
  t.comment(`float16 inputs are computed in ${await witness.float16ComputeDtype()} (native float16 kernels: ${probe.native})`);
});

// 100 configurations per dtype: enough for every feature below to occur many times (checked).
const CONFIGS_PER_DTYPE = 100;
const DTYPES: Dtype[] = ['float32', 'float16', 'float64'];

t.test('agrees with the oracle within the bound over seeded random configurations', async (t) => {
  const prng = new Prng(20240611);
  const features = new Set<string>();
  const failures: string[] = [];
  const maxErrorInBounds = new Map<string, number>();
  const float16ComputeDtype = await witness.float16ComputeDtype();
  for (let index = 0; index < CONFIGS_PER_DTYPE * DTYPES.length; index++) {
    const dtype = DTYPES[index % DTYPES.length];
    const testCase = dtypeCase(prng, dtype);
    for (const feature of [...convFeatures(testCase.convCase.config), ...extraFeatures(testCase.convCase.config)]) features.add(feature);
    const { expected, magnitude } = referenceOf(testCase);
    const result = await witness.compute(testCase.request);
    const wantedComputeDtype = dtype === 'float16' ? float16ComputeDtype : 'float32';
    if (result.computeDtype !== wantedComputeDtype) failures.push(`${dtype}: computeDtype ${result.computeDtype}, expected ${wantedComputeDtype}`);
    for (const output of OUTPUT_NAMES) {
      const metrics = compareAll(testCase, expected, magnitude, result, output);
      const key = `${dtype} inputs (computed in ${result.computeDtype}) ${output}`;
      maxErrorInBounds.set(key, Math.max(maxErrorInBounds.get(key) ?? 0, metrics.maxErrorInBounds));
      if (metrics.failingElements > 0) {
        failures.push(`${dtype} ${output} ${describeConfig(testCase.convCase.config)}: ${metrics.failingElements} failing, worst ${JSON.stringify(metrics.worst)}`);
      }
    }
  }
  t.same(failures, [], 'no failing element in any output');
  for (const feature of [
    'batched',
    'strided',
    'stride-differs-per-axis',
    'dilated',
    'dilation-differs-per-axis',
    'asymmetric-pads',
    'pad-at-least-kernel',
    'grouped',
    'depthwise-multiplier-2',
    'kernel-larger-than-input',
    'dropped-tail',
  ]) {
    t.ok(features.has(feature), `the random set covers ${feature}`);
  }
  for (const [key, value] of [...maxErrorInBounds].sort()) t.comment(`max error of ${key}: ${value.toExponential(3)} bounds`);
});

t.test('a wrong expected value is flagged against the witness result', async (t) => {
  const prng = new Prng(77);
  for (let index = 0; index < 30; index++) {
    const dtype = DTYPES[index % DTYPES.length];
    const testCase = dtypeCase(prng, dtype);
    const { expected, magnitude } = referenceOf(testCase);
    const result = await witness.compute(testCase.request);
    for (const output of OUTPUT_NAMES) {
      const data = expected[output].data;
      const element = prng.integer(0, data.length - 1);
      const coefficients = coefficientsForDtype(accumulationLengths(testCase.geometry)[output], result.computeDtype);
      const bound = elementBound(coefficients, data[element], magnitude[output].data[element]);
      // Move the expected value by 4 bounds. The witness was within one bound of the
      // true value, so it is now at least 3 bounds away, while the bound at the moved
      // value grows by only u * 4 bounds (u <= 2^-11): the element must fail.
      const wrong = Float64Array.from(data);
      wrong[element] += (prng.nextFloat() < 0.5 ? -4 : 4) * bound;
      const perturbed = { ...expected, [output]: { ...expected[output], data: wrong } };
      const metrics = compareAll(testCase, perturbed, magnitude, result, output);
      t.equal(metrics.failingElements, 1, `${dtype} ${output}[${element}] of ${describeConfig(testCase.convCase.config)} is flagged`);
      t.equal(metrics.worst?.flatIndex, element, 'and named as the worst element');
    }
  }
});

t.test('the float16 model agrees with the oracle within float16 bounds', async (t) => {
  // Whether or not this machine has native float16 kernels, the float16 graph must be
  // right (it is what the witness runs where they exist). Without native kernels ORT
  // computes in float32 and rounds to float16, which the float16 bound covers too.
  const prng = new Prng(5);
  const failures: string[] = [];
  let worst = 0;
  for (let index = 0; index < 20; index++) {
    const testCase = dtypeCase(prng, 'float16');
    const { expected, magnitude } = referenceOf(testCase);
    const session = await InferenceSession.create(buildConv2dBackwardModel(testCase.geometry, testCase.request.params, 'float16'), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    const feed = (tensor: Tensor) => new OrtTensor('float16', tensor.data as Uint16Array, tensor.shape);
    const outputs = await session.run({ x: feed(testCase.request.x), w: feed(testCase.request.w), dy: feed(testCase.request.dy) });
    await session.release();
    const decoded = (name: OutputName) => toFloat64Array(outputs[name].data as Uint16Array, 'float16');
    const result: BackendResult = { dx: decoded('dx'), dw: decoded('dw'), db: decoded('db'), computeDtype: 'float16' };
    for (const output of OUTPUT_NAMES) {
      const metrics = compareAll(testCase, expected, magnitude, result, output);
      worst = Math.max(worst, metrics.maxErrorInBounds);
      if (metrics.failingElements > 0) failures.push(`${output} ${describeConfig(testCase.convCase.config)}: ${JSON.stringify(metrics.worst)}`);
    }
  }
  t.same(failures, []);
  t.comment(`float16 model: max error ${worst.toExponential(3)} float16 bounds`);
});

t.test('sessions are cached per shape and parameters, results repeat, dispose releases them', async (t) => {
  const local = await createOnnxruntimeBackend();
  const prng = new Prng(9);
  const first = dtypeCase(prng, 'float32');
  const second = dtypeCase(prng, 'float32');
  const resultA = await local.compute(first.request);
  const resultB = await local.compute(first.request);
  t.equal(local.cachedSessionCount, 1);
  for (const output of OUTPUT_NAMES) t.same([...resultA[output]], [...resultB[output]], `${output} repeats bit for bit`);
  await local.compute(second.request);
  t.equal(local.cachedSessionCount, 2);
  await local.dispose();
  t.equal(local.cachedSessionCount, 0);
});

t.test('boundary checks', async (t) => {
  const prng = new Prng(11);
  const testCase = dtypeCase(prng, 'float64');
  const x = Float64Array.from(testCase.request.x.data);
  x[0] = 0.1; // 0.1 has no finite binary expansion: float32 and float64 round it differently.
  await t.rejects(witness.compute({ ...testCase.request, x: { ...testCase.request.x, data: x } }), {
    name: 'ConformanceError',
    code: 'E_WITNESS',
    message: /float64 input x\[0\] = 0\.1 is not exactly representable in float32/,
  });
  const nan = Float64Array.from(testCase.request.x.data);
  nan[0] = Number.NaN;
  const withNaN = await witness.compute({ ...testCase.request, x: { ...testCase.request.x, data: nan } });
  t.ok(withNaN.dw.some(Number.isNaN), 'NaN is accepted as a float32 value and propagates');
  const float32W: Tensor = { dtype: 'float32', shape: testCase.request.w.shape, data: Float32Array.from(testCase.request.w.data) };
  await t.rejects(witness.compute({ ...testCase.request, w: float32W }), { code: 'E_WITNESS', message: /w is "float32" but x is float64/ });
  await t.rejects(witness.compute({ ...testCase.request, dy: { ...testCase.request.dy, data: Float32Array.from(testCase.request.dy.data) } }), {
    code: 'E_WITNESS',
    message: /dy \(float64\) expected Float64Array data, found \[object Float32Array\]/,
  });
  await t.rejects(witness.compute({ ...testCase.request, dy: { ...testCase.request.dy, shape: [1, 1, 1, 1] } }), { code: 'E_GEOMETRY' });
});

function referenceOf(testCase: DtypeCase): Reference {
  const { params } = testCase.convCase;
  return {
    expected: conv2dBackward(testCase.x, testCase.w, testCase.dy, params),
    magnitude: conv2dBackwardMagnitude(testCase.x, testCase.w, testCase.dy, params),
  };
}
