/**
 * The decompositions of tfjs-decompositions.ts, each checked against the float64
 * oracle alone (no TF.js): the oracle with groups = 1 and dilation 1 plays the
 * backend's plain convolution.
 */
import t from 'tap';
import {
  axisPhases,
  decomposedConv2dBackward,
  hwioToOihw,
  nchwToNhwc,
  nhwcToNchw,
  oihwToHwio,
  permute4d,
  sliceAxis,
  subsampleKernel,
  writeAxis,
  zeroInsertKernel,
  type PlainConvBackward,
} from '../../backends/tfjs-decompositions.js';
import { conv2dBackward, conv2dForward } from '../../src/oracle/index.js';
import { conv2dGeometry, convOutputSize, effectiveKernelSize, shapeSize } from '../../src/geometry.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams, Float64Tensor, Pads } from '../../src/types.js';

function randomTensor(prng: Prng, shape: number[]): Float64Tensor {
  const data = new Float64Array(shapeSize(shape));
  for (let index = 0; index < data.length; index++) data[index] = prng.normal();
  return { dtype: 'float64', shape, data };
}

/** Index of the first element where a and b differ (NaN equals NaN, -0 equals +0), or -1. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 0;
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index] && !(Number.isNaN(a[index]) && Number.isNaN(b[index]))) return index;
  }
  return -1;
}

interface SmallCase {
  xShape: number[];
  wShape: number[];
  params: Conv2dParams;
}

/** A small random conv: groups, dilation and stride per axis, pads per side up to past the kernel. */
function randomSmallCase(prng: Prng): SmallCase {
  const groups = prng.pick([1, 1, 2, 3]);
  const inPerGroup = prng.integer(1, 2);
  const outPerGroup = prng.integer(1, 3);
  const kernel: [number, number] = [prng.integer(1, 4), prng.integer(1, 4)];
  const stride: [number, number] = [prng.integer(1, 3), prng.integer(1, 3)];
  const dilation: [number, number] = [prng.integer(1, 3), prng.integer(1, 3)];
  const pads: Pads = { top: prng.integer(0, 4), bottom: prng.integer(0, 4), left: prng.integer(0, 4), right: prng.integer(0, 4) };
  const size = (axis: 0 | 1, before: number, after: number): number => {
    // At least 1, and large enough that one dilated window fits the padded input.
    const needed = effectiveKernelSize(kernel[axis], dilation[axis]) - before - after;
    return Math.max(1, needed, prng.integer(1, 9));
  };
  const height = size(0, pads.top, pads.bottom);
  const width = size(1, pads.left, pads.right);
  return {
    xShape: [prng.integer(1, 2), groups * inPerGroup, height, width],
    wShape: [groups * outPerGroup, inPerGroup, kernel[0], kernel[1]],
    params: { stride, dilation, pads, groups },
  };
}

/** The oracle restricted to what a TF.js backprop kernel can do: groups = 1, dilation 1. */
function oraclePlainBackend(calls: { count: number }): PlainConvBackward {
  const plainParams = (stride: [number, number], pads: Pads): Conv2dParams => ({ stride, dilation: [1, 1], pads, groups: 1 });
  const zeros = (shape: number[]): Float64Tensor => ({ dtype: 'float64', shape, data: new Float64Array(shapeSize(shape)) });
  return {
    inputGradient(dy, w, xShape, stride, pads) {
      calls.count++;
      return conv2dBackward(zeros(xShape), w, dy, plainParams(stride, pads)).dx.data;
    },
    filterGradient(x, dy, wShape, stride, pads) {
      calls.count++;
      return conv2dBackward(x, zeros(wShape), dy, plainParams(stride, pads)).dw.data;
    },
  };
}

t.test('layout permutations move each element to its transposed index and invert each other', async (t) => {
  const prng = new Prng(11);
  const [n, c, h, w] = [2, 3, 4, 5];
  const x = randomTensor(prng, [n, c, h, w]);
  const nhwc = nchwToNhwc(x);
  t.same(nhwc.shape, [n, h, w, c]);
  let mismatches = 0;
  for (let batch = 0; batch < n; batch++)
    for (let channel = 0; channel < c; channel++)
      for (let row = 0; row < h; row++)
        for (let col = 0; col < w; col++) {
          if (nhwc.data[((batch * h + row) * w + col) * c + channel] !== x.data[((batch * c + channel) * h + row) * w + col]) mismatches++;
        }
  t.equal(mismatches, 0, 'nhwc[n, h, w, c] = nchw[n, c, h, w]');
  t.same(Array.from(nhwcToNchw(nhwc).data), Array.from(x.data), 'NHWC -> NCHW inverts NCHW -> NHWC');

  const filter = randomTensor(prng, [4, 3, 2, 5]); // OIHW
  const hwio = oihwToHwio(filter);
  t.same(hwio.shape, [2, 5, 3, 4]);
  // hwio[kh, kw, i, o] = oihw[o, i, kh, kw] at one element worked out by hand: o=3, i=1, kh=1, kw=4.
  t.equal(hwio.data[((1 * 5 + 4) * 3 + 1) * 4 + 3], filter.data[((3 * 3 + 1) * 2 + 1) * 5 + 4]);
  t.same(Array.from(hwioToOihw(hwio).data), Array.from(filter.data), 'HWIO -> OIHW inverts OIHW -> HWIO');
  t.same(permute4d(x, [0, 1, 2, 3]).data, x.data, 'the identity order copies');
});

t.test('sliceAxis and writeAxis cut a tensor into channel blocks and put it back', async (t) => {
  const prng = new Prng(12);
  const x = randomTensor(prng, [2, 6, 3, 2]);
  for (const axis of [0, 1] as const) {
    const rebuilt: Float64Tensor = { dtype: 'float64', shape: x.shape, data: new Float64Array(x.data.length) };
    for (let start = 0; start < x.shape[axis]; start += 2) writeAxis(rebuilt, axis, start, sliceAxis(x, axis, start, 2));
    t.same(Array.from(rebuilt.data), Array.from(x.data), `three blocks of 2 along axis ${axis} rebuild the tensor`);
  }
  const block = sliceAxis(x, 1, 4, 2);
  t.same(block.shape, [2, 2, 3, 2]);
  // block[1, 0, 2, 1] is x[1, 4, 2, 1].
  t.equal(block.data[((1 * 2 + 0) * 3 + 2) * 2 + 1], x.data[((1 * 6 + 4) * 3 + 2) * 2 + 1]);
  t.equal(sliceAxis(x, 0, 0, 2), x, 'the full range is the tensor itself, not a copy');
  t.throws(() => sliceAxis(x, 1, 5, 2), { code: 'E_WITNESS' }, 'a range past the axis is refused');
});

t.test('zero insertion: the zero-inserted kernel with dilation 1 is the dilated conv, bit for bit', async (t) => {
  const prng = new Prng(13);
  let dilatedCases = 0;
  const failures: string[] = [];
  for (let trial = 0; trial < 120; trial++) {
    const { xShape, wShape, params } = randomSmallCase(prng);
    const x = randomTensor(prng, xShape);
    const w = randomTensor(prng, wShape);
    const geometry = conv2dGeometry(xShape, wShape, params);
    const dy = randomTensor(prng, geometry.dyShape);
    const wSpan = zeroInsertKernel(w, params.dilation);
    const spanParams: Conv2dParams = { ...params, dilation: [1, 1] };
    if (params.dilation[0] > 1 || params.dilation[1] > 1) dilatedCases++;
    const label = JSON.stringify({ xShape, wShape, params });
    const spanShape = [wShape[0], wShape[1], effectiveKernelSize(wShape[2], params.dilation[0]), effectiveKernelSize(wShape[3], params.dilation[1])];
    if (wSpan.shape.some((size, axis) => size !== spanShape[axis])) failures.push(`span shape ${label}`);

    const forward = conv2dForward(x, w, undefined, params);
    const forwardSpan = conv2dForward(x, wSpan, undefined, spanParams);
    if (firstDifference(forwardSpan.data, forward.data) !== -1) failures.push(`forward ${label}`);

    const backward = conv2dBackward(x, w, dy, params);
    const backwardSpan = conv2dBackward(x, wSpan, dy, spanParams);
    if (firstDifference(backwardSpan.dx.data, backward.dx.data) !== -1) failures.push(`dx ${label}`);
    if (firstDifference(subsampleKernel(backwardSpan.dw, params.dilation).data, backward.dw.data) !== -1) failures.push(`every d-th of dw ${label}`);
    if (firstDifference(backwardSpan.db.data, backward.db.data) !== -1) failures.push(`db ${label}`);
  }
  t.same(failures, [], 'forward, dx, subsampled dw and db agree bit for bit in all 120 cases');
  t.ok(dilatedCases >= 60, `most random cases are dilated (${dilatedCases} of 120)`);
});

t.test('subsampling takes back exactly the original taps, and the inserted positions hold zeros', async (t) => {
  const prng = new Prng(14);
  const w = randomTensor(prng, [2, 3, 3, 2]);
  const dilation: [number, number] = [3, 2];
  const span = zeroInsertKernel(w, dilation);
  t.same(span.shape, [2, 3, 7, 3], 'span 3*(3-1)+1 = 7 by 2*(2-1)+1 = 3');
  t.same(Array.from(subsampleKernel(span, dilation).data), Array.from(w.data));
  let nonZeroInserted = 0;
  for (let index = 0; index < span.data.length; index++) {
    const row = Math.floor(index / 3) % 7;
    const col = index % 3;
    if ((row % 3 !== 0 || col % 2 !== 0) && span.data[index] !== 0) nonZeroInserted++;
  }
  t.equal(nonZeroInserted, 0);
  t.throws(() => subsampleKernel(span, [4, 2]), { code: 'E_WITNESS' }, 'a span that is not D*(K-1)+1 is refused');
});

t.test('axisPhases: every (output, tap) pair maps to the right input row, exhaustively for small axes', async (t) => {
  let configurations = 0;
  let problems = 0;
  for (let input = 1; input <= 8; input++)
    for (let kernel = 1; kernel <= 3; kernel++)
      for (let stride = 1; stride <= 4; stride++)
        for (let dilation = 1; dilation <= 4; dilation++)
          for (let padBefore = 0; padBefore <= 4; padBefore++)
            for (let padAfter = 0; padAfter <= 4; padAfter++) {
              const output = convOutputSize(input, kernel, stride, dilation, padBefore, padAfter);
              if (output < 1) continue;
              configurations++;
              const phases = axisPhases(input, kernel, stride, dilation, padBefore, padAfter);
              // Which phase claims each output; the pairs (output, tap) a phase conv visits, by the row they read.
              const claimed = new Array<number>(output).fill(0);
              for (const phase of phases) {
                if (convOutputSize(phase.inputCount, kernel, phase.stride, 1, phase.padBefore, phase.padAfter) !== phase.outputCount) problems++;
                for (let m = 0; m < phase.outputCount; m++) {
                  const o = phase.firstOutput + m * phase.outputStep;
                  claimed[o]++;
                  for (let tap = 0; tap < kernel; tap++) {
                    const row = o * stride + tap * dilation - padBefore;
                    const phaseRow = m * phase.stride + tap - phase.padBefore; // row of the phase conv's input
                    const inside = phaseRow >= 0 && phaseRow < phase.inputCount;
                    if (inside !== (row >= 0 && row < input)) problems++;
                    if (inside && phase.phase + (phase.firstRow + phaseRow) * dilation !== row) problems++;
                  }
                }
              }
              // Outputs no phase claims read only padding; no output is claimed twice.
              for (let o = 0; o < output; o++) {
                if (claimed[o] > 1) problems++;
                if (claimed[o] === 0) {
                  for (let tap = 0; tap < kernel; tap++) {
                    const row = o * stride + tap * dilation - padBefore;
                    if (row >= 0 && row < input) problems++;
                  }
                }
              }
            }
  t.ok(configurations > 1000, `${configurations} axis configurations`);
  t.equal(problems, 0);
});

t.test('per-group assembly and both dx methods reproduce the oracle bit for bit (oracle as the plain backend)', async (t) => {
  const prng = new Prng(15);
  let groupedCases = 0;
  const failures: string[] = [];
  for (let trial = 0; trial < 120; trial++) {
    const { xShape, wShape, params } = randomSmallCase(prng);
    const x = randomTensor(prng, xShape);
    const w = randomTensor(prng, wShape);
    const dy = randomTensor(prng, conv2dGeometry(xShape, wShape, params).dyShape);
    const expected = conv2dBackward(x, w, dy, params);
    if (params.groups > 1) groupedCases++;
    const label = JSON.stringify({ xShape, wShape, params });
    for (const method of ['zero-insertion', 'phases'] as const) {
      const calls = { count: 0 };
      const result = decomposedConv2dBackward(x, w, dy, params, oraclePlainBackend(calls), { dilatedInput: method });
      if (result.dilatedInput !== method || result.plainCalls !== calls.count) failures.push(`bookkeeping by ${method} ${label}`);
      if (firstDifference(result.dx.data, expected.dx.data) !== -1) failures.push(`dx by ${method} ${label}`);
      if (firstDifference(result.dw.data, expected.dw.data) !== -1) failures.push(`dw by ${method} ${label}`);
    }
    const calls = { count: 0 };
    const automatic = decomposedConv2dBackward(x, w, dy, params, oraclePlainBackend(calls));
    // Finite dy: zero insertion, one dx and one dw call per group.
    if (automatic.dilatedInput !== 'zero-insertion' || calls.count !== 2 * params.groups) failures.push(`auto ${label}`);
  }
  t.same(failures, [], 'dx and dw agree bit for bit in all 120 cases');
  t.ok(groupedCases >= 40, `grouped cases: ${groupedCases} of 120`);
});

t.test('non-finite dy with dilation: zero insertion makes 0*Inf = NaN, phases stay exact', async (t) => {
  // One row, 7 columns, a 3-tap kernel dilated by 2 (span 5): output 0 reads columns 0, 2, 4.
  const x: Float64Tensor = { dtype: 'float64', shape: [1, 1, 1, 7], data: new Float64Array([1, 2, 3, 4, 5, 6, 7]) };
  const w: Float64Tensor = { dtype: 'float64', shape: [1, 1, 1, 3], data: new Float64Array([1, 2, 3]) };
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 2], pads: { top: 0, bottom: 0, left: 0, right: 0 }, groups: 1 };
  // Output width (7 - 5)/1 + 1 = 3; dy = [Inf, 1, 1].
  const dy: Float64Tensor = { dtype: 'float64', shape: [1, 1, 1, 3], data: new Float64Array([Infinity, 1, 1]) };
  const expected = conv2dBackward(x, w, dy, params);
  t.equal(expected.dx.data[1], 1, 'column 1 is read only by output 1, tap 0: dx = 1*1');

  const zeroInserted = decomposedConv2dBackward(x, w, dy, params, oraclePlainBackend({ count: 0 }), { dilatedInput: 'zero-insertion' });
  t.ok(Number.isNaN(zeroInserted.dx.data[1]), 'zero insertion adds 0*Inf to column 1');
  const automatic = decomposedConv2dBackward(x, w, dy, params, oraclePlainBackend({ count: 0 }));
  t.equal(automatic.dilatedInput, 'phases');
  t.equal(firstDifference(automatic.dx.data, expected.dx.data), -1, 'phases give the oracle dx');
  t.equal(firstDifference(automatic.dw.data, expected.dw.data), -1, 'dw by zero insertion is exact with Inf');

  // Random cases with Inf, -Inf and NaN sprinkled into x, w and dy.
  const prng = new Prng(16);
  let nonFinite = 0;
  const failures: string[] = [];
  for (let trial = 0; trial < 60; trial++) {
    const { xShape, wShape, params: randomParams } = randomSmallCase(prng);
    const xRandom = randomTensor(prng, xShape);
    const wRandom = randomTensor(prng, wShape);
    const dyRandom = randomTensor(prng, conv2dGeometry(xShape, wShape, randomParams).dyShape);
    for (const tensor of [xRandom, wRandom, dyRandom]) {
      const index = prng.integer(0, tensor.data.length - 1);
      tensor.data[index] = prng.pick([Infinity, -Infinity, NaN]);
    }
    const want = conv2dBackward(xRandom, wRandom, dyRandom, randomParams);
    const got = decomposedConv2dBackward(xRandom, wRandom, dyRandom, randomParams, oraclePlainBackend({ count: 0 }));
    if (want.dx.data.some((value) => !Number.isFinite(value))) nonFinite++;
    const label = JSON.stringify({ xShape, wShape, params: randomParams });
    if (firstDifference(got.dx.data, want.dx.data) !== -1) failures.push(`dx ${label}`);
    if (firstDifference(got.dw.data, want.dw.data) !== -1) failures.push(`dw ${label}`);
  }
  t.same(failures, [], 'dx and dw agree (NaN with NaN) in all 60 cases');
  t.ok(nonFinite > 30, `non-finite dx in ${nonFinite} of 60 cases`);
});
