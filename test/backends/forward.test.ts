/**
 * The backends' forward (backends/backend.ts `forward`), which the generator witnesses
 * the corpus's y with: onnxruntime-node's Conv and TF.js's tf.conv2d (one call per group,
 * stride-1 subsampling when strides and dilations are both above 1) against the oracle's
 * y = conv(x, w) and its bound (src/forward-expected.ts, src/compare.ts).
 */
import t from 'tap';
import type { Backend } from '../../backends/backend.js';
import { createOnnxruntimeBackend } from '../../backends/onnxruntime.js';
import { createTfjsBackend } from '../../backends/tfjs.js';
import { compareOutput } from '../../src/compare.js';
import { forwardExpectation } from '../../src/forward-expected.js';
import { Prng } from '../../src/prng.js';
import type { Float64Tensor, Tensor } from '../../src/types.js';
import { convCase, convFeatures, describeConfig, randomConvCase, type ConvCase, type ConvConfig } from '../helpers/random-conv.js';

const float32 = (tensor: Float64Tensor): Tensor => ({ dtype: 'float32', shape: [...tensor.shape], data: Float32Array.from(tensor.data) });
/** The oracle's inputs: the float32 values the backends are given. */
const rounded = (tensor: Float64Tensor): Float64Tensor => ({ ...tensor, data: tensor.data.map(Math.fround) });

/** Strides and dilations both above 1 on one axis and another: the subsampled path of the TF.js forward. */
const STRIDED_AND_DILATED: ConvConfig = {
  batch: 2,
  inChannels: 4,
  outChannels: 6,
  inHeight: 9,
  inWidth: 8,
  kernelHeight: 3,
  kernelWidth: 2,
  params: { stride: [2, 3], dilation: [2, 2], pads: { top: 1, bottom: 3, left: 0, right: 2 }, groups: 2 },
};

/** Compare a backend's forward with the oracle: the failures found (empty when none). */
async function check(backend: Backend, testCase: ConvCase, label: string): Promise<string[]> {
  const x = rounded(testCase.x);
  const w = rounded(testCase.w);
  const expected = forwardExpectation(x, w, testCase.params, 'float32');
  const result = await backend.forward!({ x: float32(x), w: float32(w), params: testCase.params });
  if (result.computeDtype !== 'float32') return [`${label}: computeDtype ${result.computeDtype}, expected float32`];
  const metrics = compareOutput({
    output: 'y',
    shape: expected.y.shape,
    dtype: 'float32',
    rule: expected.rule,
    accumulationLength: expected.accumulationLength,
    expected: expected.y.data,
    magnitude: expected.yMagnitude.data,
    got: result.y,
  });
  return metrics.failingElements === 0 ? [] : [`${label} (${expected.rule}): ${metrics.failingElements} failing, worst ${JSON.stringify(metrics.worst)}`];
}

for (const create of [createOnnxruntimeBackend, () => createTfjsBackend({ backend: 'cpu' })]) {
  t.test('forward agrees with the oracle within the float32 bound (integer data: exactly)', async (t) => {
    const backend = await create();
    t.teardown(() => backend.dispose());
    t.ok(typeof backend.forward === 'function', `${backend.name} has a forward`);
    const prng = new Prng(0xf0a4d);
    const failures: string[] = [];
    const features = new Set<string>();
    for (let index = 0; index < 60; index++) {
      const testCase = randomConvCase(prng, { values: index % 3 === 0 ? 'integer' : 'normal' });
      for (const feature of convFeatures(testCase.config)) features.add(feature);
      failures.push(...(await check(backend, testCase, describeConfig(testCase.config))));
    }
    failures.push(...(await check(backend, convCase(prng, STRIDED_AND_DILATED, 'normal'), 'strides and dilations both > 1')));
    failures.push(...(await check(backend, convCase(prng, STRIDED_AND_DILATED, 'integer'), 'strides and dilations both > 1, integers')));
    t.same(failures, [], `${backend.name}: no failing element`);
    for (const feature of ['strided', 'dilated', 'grouped', 'asymmetric-pads']) t.ok(features.has(feature), `the random set covers ${feature}`);
  });
}
