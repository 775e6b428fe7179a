/**
 * The bundled adapters (naive, tfjs, onnxruntime) and the correct self-test
 * implementations, called in-process on seeded random convolutions and compared
 * with the float64 oracle under the project's error bound (src/tolerance.ts).
 * The runner is not involved: this checks the implementations themselves,
 * including their layout handling (tensors go through conformance/layout.ts as
 * the runner would convert them).
 */
import t from 'tap';
import naive from '../../conformance/adapters/naive.js';
import onnxruntime from '../../conformance/adapters/onnxruntime.js';
import tfjs from '../../conformance/adapters/tfjs.js';
import { kernelAdapter, KERNEL_BUGS } from '../../conformance/self-test/buggy-kernels.js';
import correctFloat64Ohwi from '../../conformance/self-test/implementations/correct-float64-ohwi.js';
import correctGatherNhwcReversed from '../../conformance/self-test/implementations/correct-gather-nhwc-reversed.js';
import correctPairwiseNchwHwio from '../../conformance/self-test/implementations/correct-pairwise-nchw-hwio.js';
import correctScatterNchw from '../../conformance/self-test/implementations/correct-scatter-nchw.js';
import { fromAdapterLayout, toAdapterLayout, type AdapterLayouts } from '../../conformance/layout.js';
import { compareOutput } from '../../src/compare.js';
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { accumulationLengths, conv2dBackwardGeometry } from '../../src/geometry.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import type { Adapter, Dtype, Float64Tensor, OutputMetrics, OutputName, Tensor } from '../../src/types.js';
import { describeConfig, randomConvCase, type ConvCase } from '../helpers/random-conv.js';

/** Round a float64 tensor to a dtype (the fixture's stored inputs). */
function stored(tensor: Float64Tensor, dtype: Dtype): Tensor {
  return { dtype, shape: [...tensor.shape], data: fromFloat64Array(tensor.data, dtype) };
}

function decoded(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: [...tensor.shape], data: toFloat64Array(tensor.data, tensor.dtype) };
}

/** Run an adapter on one case in `dtype` and compare every output with the oracle. */
async function scoreCase(adapter: Adapter, testCase: ConvCase, dtype: Dtype): Promise<OutputMetrics[]> {
  const layouts: AdapterLayouts = { layout: adapter.layout ?? 'NCHW', filterLayout: adapter.filterLayout ?? 'OIHW' };
  const x = stored(testCase.x, dtype);
  const w = stored(testCase.w, dtype);
  const dy = stored(testCase.dy, dtype);
  const expected = conv2dBackward(decoded(x), decoded(w), decoded(dy), testCase.params);
  const magnitude = conv2dBackwardMagnitude(decoded(x), decoded(w), decoded(dy), testCase.params);
  const geometry = conv2dBackwardGeometry(x.shape, w.shape, dy.shape, testCase.params);
  const lengths = accumulationLengths(geometry);
  const result = await adapter.conv2dBackward({
    x: toAdapterLayout('x', x, layouts),
    w: toAdapterLayout('w', w, layouts),
    dy: toAdapterLayout('dy', dy, layouts),
    params: testCase.params,
    id: 'in-process',
  });
  const metrics: OutputMetrics[] = [];
  for (const output of ['dx', 'dw', 'db'] as OutputName[]) {
    const tensor = result[output];
    if (tensor === undefined) throw new Error(`${adapter.name}: no ${output} returned`);
    if (tensor.dtype !== dtype) throw new Error(`${adapter.name}: ${output} returned as ${tensor.dtype}, expected ${dtype}`);
    const canonical = fromAdapterLayout(output, tensor, layouts);
    metrics.push(
      compareOutput({
        output,
        shape: expected[output].shape,
        dtype,
        rule: 'bound',
        accumulationLength: lengths[output],
        expected: expected[output].data,
        magnitude: magnitude[output].data,
        got: toFloat64Array(canonical.data, dtype),
      }),
    );
  }
  return metrics;
}

function failures(metrics: OutputMetrics[]): string[] {
  return metrics.filter((metric) => metric.failingElements > 0).map((metric) => `${metric.output}: ${metric.failingElements} failing, worst ${JSON.stringify(metric.worst)}`);
}

/** Seeded random cases; the default options draw strides, dilation, asymmetric pads, groups and batch > 1. */
function cases(seed: number, count: number): ConvCase[] {
  const prng = new Prng(seed);
  return Array.from({ length: count }, () => randomConvCase(prng));
}

// 60 cases per implementation and dtype: enough to meet every feature of random-conv.ts several
// times (its own tests check the coverage) while keeping the file to a few seconds.
const CASES_PER_DTYPE = 60;

const pureJs: Adapter[] = [naive, correctScatterNchw, correctGatherNhwcReversed, correctFloat64Ohwi, correctPairwiseNchwHwio];

for (const adapter of pureJs) {
  t.test(`${adapter.name} matches the oracle within the bound`, async (t) => {
    for (const dtype of adapter.dtypes ?? ['float32']) {
      let failed = 0;
      for (const testCase of cases(20250607, CASES_PER_DTYPE)) {
        const problems = failures(await scoreCase(adapter, testCase, dtype));
        if (problems.length > 0) {
          failed++;
          t.fail(`${dtype} ${describeConfig(testCase.config)}: ${problems.join('; ')}`);
        }
      }
      t.equal(failed, 0, `${dtype}: every case within the bound`);
    }
  });
}

t.test('the correct kernel is genuinely float32: it differs from the float64 result rounded once on some case', async (t) => {
  // Otherwise the tolerance would never be exercised by it. Normal data of 60 cases with sums of
  // several terms makes a rounding difference essentially certain.
  let differing = 0;
  for (const testCase of cases(7, CASES_PER_DTYPE)) {
    const single = await correctScatterNchw.conv2dBackward({ x: stored(testCase.x, 'float32'), w: stored(testCase.w, 'float32'), dy: stored(testCase.dy, 'float32'), params: testCase.params, id: 'a' });
    const double = await correctFloat64Ohwi.conv2dBackward({
      x: toAdapterLayout('x', stored(testCase.x, 'float32'), { layout: 'NHWC', filterLayout: 'OHWI' }),
      w: toAdapterLayout('w', stored(testCase.w, 'float32'), { layout: 'NHWC', filterLayout: 'OHWI' }),
      dy: toAdapterLayout('dy', stored(testCase.dy, 'float32'), { layout: 'NHWC', filterLayout: 'OHWI' }),
      params: testCase.params,
      id: 'b',
    });
    const a = single.dx!.data;
    const b = fromAdapterLayout('dx', double.dx!, { layout: 'NHWC', filterLayout: 'OHWI' }).data;
    if (a.some((value, index) => value !== b[index])) differing++;
  }
  t.ok(differing > 0, `${differing} of ${CASES_PER_DTYPE} cases differ from the once-rounded float64 result`);
});

t.test('the bundled adapters declare what they compute', async (t) => {
  t.same(naive.dtypes, ['float32', 'bfloat16']);
  t.same([naive.layout, naive.filterLayout], ['NCHW', 'OIHW']);
  // TF.js and ORT's CPU kernels compute in float32: a float32 result cannot meet a float64 bound.
  t.notOk(tfjs.dtypes?.includes('float64'));
  t.notOk(onnxruntime.dtypes?.includes('float64'));
  t.ok(Object.keys(KERNEL_BUGS).length >= 16, 'at least 15 bugs besides none');
});

// The production backends are slower to call: fewer cases, float32 and float16.
for (const adapter of [tfjs, onnxruntime]) {
  t.test(`${adapter.name} matches the oracle within the bound`, async (t) => {
    await adapter.init?.();
    t.teardown(async () => {
      await adapter.dispose?.();
    });
    for (const dtype of adapter.dtypes ?? ['float32']) {
      let failed = 0;
      for (const testCase of cases(31337, 20)) {
        const problems = failures(await scoreCase(adapter, testCase, dtype));
        if (problems.length > 0) {
          failed++;
          t.fail(`${dtype} ${describeConfig(testCase.config)}: ${problems.join('; ')}`);
        }
      }
      t.equal(failed, 0, `${dtype}: every case within the bound`);
    }
  });
}
