/**
 * Geometry formulas against brute force and against the ONNX/TF definitions,
 * and every validation error with its message.
 */
import t, { type Test } from 'tap';
import { ConformanceError, isConformanceError } from '../../src/errors.js';
import {
  accumulationLengths,
  conv2dBackwardGeometry,
  conv2dGeometry,
  convOutputSize,
  effectiveKernelSize,
  resolveAxisPadding,
  resolvePadding,
  shapeSize,
  shapeStrides,
  transposeOutputPadding,
  unflattenIndex,
  unreadTailSize,
  validateParams,
} from '../../src/geometry.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams } from '../../src/types.js';
import { randomConvConfig } from '../helpers/random-conv.js';

/** Every small axis configuration: input 1..9, kernel 1..4, stride 1..3, dilation 1..3, pads 0..4 each side. */
function* axisConfigurations(): Generator<{ input: number; kernel: number; stride: number; dilation: number; before: number; after: number }> {
  for (let input = 1; input <= 9; input++)
    for (let kernel = 1; kernel <= 4; kernel++)
      for (let stride = 1; stride <= 3; stride++)
        for (let dilation = 1; dilation <= 3; dilation++)
          for (let before = 0; before <= 4; before++) for (let after = 0; after <= 4; after++) yield { input, kernel, stride, dilation, before, after };
}

/** Brute force: window starts o*S (in padded coordinates) whose dilated span fits the padded input. */
function countWindows(input: number, kernel: number, stride: number, dilation: number, before: number, after: number): number {
  const padded = before + input + after;
  let count = 0;
  for (let start = 0; ; start += stride) {
    const lastTap = start + (kernel - 1) * dilation; // padded coordinate of the last tap
    if (lastTap >= padded) break;
    count++;
  }
  return count;
}

/** Brute force: rows after the last input row any (window, tap) reads; all rows when none is read. */
function bruteUnreadTail(input: number, kernel: number, stride: number, dilation: number, before: number, windows: number): number {
  let lastRead = -1;
  for (let window = 0; window < windows; window++) {
    for (let tap = 0; tap < kernel; tap++) {
      const row = window * stride + tap * dilation - before;
      if (row >= 0 && row < input && row > lastRead) lastRead = row;
    }
  }
  return input - 1 - lastRead;
}

t.test('convOutputSize equals a brute-force count of window positions', async (t) => {
  let checked = 0;
  let mismatches = 0;
  for (const { input, kernel, stride, dilation, before, after } of axisConfigurations()) {
    const count = countWindows(input, kernel, stride, dilation, before, after);
    const formula = convOutputSize(input, kernel, stride, dilation, before, after);
    // When no window fits, the formula gives a number < 1 (which conv2dGeometry rejects).
    const agrees = count > 0 ? formula === count : formula < 1;
    if (!agrees) {
      mismatches++;
      if (mismatches <= 5) t.fail(`I=${input} K=${kernel} S=${stride} D=${dilation} B=${before} A=${after}: formula ${formula}, brute force ${count}`);
    }
    checked++;
  }
  t.equal(mismatches, 0, `all ${checked} axis configurations agree`);
  // Hand examples. I=3, K=2, S=1: windows start at rows 0 and 1 -> 2.
  t.equal(convOutputSize(3, 2, 1, 1, 0, 0), 2);
  // I=5, K=2, S=2: windows start at 0 and 2; a window at 4 would need row 5 -> 2.
  t.equal(convOutputSize(5, 2, 2, 1, 0, 0), 2);
  // I=7, K=3, D=2: span E = 2*(3-1)+1 = 5, windows start at 0, 1, 2 -> 3.
  t.equal(effectiveKernelSize(3, 2), 5);
  t.equal(convOutputSize(7, 3, 1, 2, 0, 0), 3);
  // I=2, K=4 with pads 1 and 2: padded length 5, windows start at 0 and 1 -> 2 (kernel larger than the input).
  t.equal(convOutputSize(2, 4, 1, 1, 1, 2), 2);
});

t.test('unreadTailSize equals a brute-force count of rows after the last row read', async (t) => {
  let checked = 0;
  let mismatches = 0;
  for (const { input, kernel, stride, dilation, before, after } of axisConfigurations()) {
    const windows = convOutputSize(input, kernel, stride, dilation, before, after);
    if (windows < 1) continue;
    const expected = bruteUnreadTail(input, kernel, stride, dilation, before, windows);
    const got = unreadTailSize(input, kernel, stride, dilation, before, after);
    if (got !== expected) {
      mismatches++;
      if (mismatches <= 5) t.fail(`I=${input} K=${kernel} S=${stride} D=${dilation} B=${before} A=${after}: unreadTailSize ${got}, brute force ${expected}`);
    }
    checked++;
  }
  t.equal(mismatches, 0, `all ${checked} valid axis configurations agree`);
  // H=5, K=2, S=2: windows read rows {0,1} and {2,3}; row 4 is never read -> 1.
  t.equal(unreadTailSize(5, 2, 2, 1, 0, 0), 1);
  // I=3, K=2, D=5, pads 0/3: E=6, one window, taps at rows 0 and 5 (after-padding):
  // rows 1 and 2 are never read -> 2 (the last window's last tap lies in the padding).
  t.equal(unreadTailSize(3, 2, 1, 5, 0, 3), 2);
  // I=1, K=1, S=10, pad before 5: the only window reads padded row 0 = input row -5 -> nothing read -> 1 (all rows).
  t.equal(unreadTailSize(1, 1, 10, 1, 5, 0), 1);
  // I=4, K=3, S=1, pads 1/1: the last window reads rows 2..4, row 4 is padding, row 3 is read -> 0.
  t.equal(unreadTailSize(4, 3, 1, 1, 1, 1), 0);
});

t.test('transposeOutputPadding gives back the input size and lies in [0, stride)', async (t) => {
  let checked = 0;
  let failures = 0;
  for (const { input, kernel, stride, dilation, before, after } of axisConfigurations()) {
    const output = convOutputSize(input, kernel, stride, dilation, before, after);
    if (output < 1) continue;
    const outputPadding = transposeOutputPadding(input, kernel, stride, dilation, before, after);
    // ONNX ConvTranspose: out = S*(in-1) + output_padding + ((K-1)*D + 1) - B - A.
    const transposedSize = stride * (output - 1) + outputPadding + ((kernel - 1) * dilation + 1) - before - after;
    if (transposedSize !== input || outputPadding < 0 || outputPadding >= stride) {
      failures++;
      if (failures <= 5) t.fail(`I=${input} K=${kernel} S=${stride} D=${dilation} B=${before} A=${after}: output_padding ${outputPadding}, gives ${transposedSize}`);
    }
    checked++;
  }
  t.equal(failures, 0, `all ${checked} valid axis configurations give back I with 0 <= output_padding < S`);
  // H=5, K=2, S=2: O=2, transposed size 2*1 + 2 = 4, so output_padding = 1 (the dropped row 4).
  t.equal(transposeOutputPadding(5, 2, 2, 1, 0, 0), 1);
});

t.test('resolvePadding follows the ONNX/TF SAME and VALID definitions', async (t) => {
  // TF's documented example (input 13, filter 6, stride 5): out = ceil(13/5) = 3,
  // total = (3-1)*5 + 6 - 13 = 3, odd: TF (= ONNX SAME_UPPER) puts 1 before and 2 after.
  t.same(resolveAxisPadding('SAME_UPPER', 13, 6, 5, 1), [1, 2]);
  t.same(resolveAxisPadding('SAME_LOWER', 13, 6, 5, 1), [2, 1]);
  // Even kernel, stride 1: I=4, K=2: out 4, total = 3 + 2 - 4 = 1 -> after for UPPER, before for LOWER.
  t.same(resolveAxisPadding('SAME_UPPER', 4, 2, 1, 1), [0, 1]);
  t.same(resolveAxisPadding('SAME_LOWER', 4, 2, 1, 1), [1, 0]);
  // Odd kernel, stride 1: K=3, total 2 splits evenly.
  t.same(resolveAxisPadding('SAME_UPPER', 5, 3, 1, 1), [1, 1]);
  // Dilation: I=6, K=3, D=2 -> E=5; S=2: out = 3, total = 2*2 + 5 - 6 = 3.
  t.same(resolveAxisPadding('SAME_UPPER', 6, 3, 2, 2), [1, 2]);
  t.same(resolveAxisPadding('SAME_LOWER', 6, 3, 2, 2), [2, 1]);
  // Total clamped at 0: I=5, K=1, S=3: out 2, (2-1)*3 + 1 - 5 = -1 -> no padding.
  t.same(resolveAxisPadding('SAME_UPPER', 5, 1, 3, 1), [0, 0]);
  t.same(resolveAxisPadding('VALID', 5, 3, 2, 2), [0, 0]);
  t.throws(() => resolveAxisPadding('EXPLICIT', 5, 3, 1, 1), { code: 'E_GEOMETRY', message: /EXPLICIT/ });

  // Exhaustively against the definition written out here.
  let checked = 0;
  let failures = 0;
  for (let input = 1; input <= 12; input++) {
    for (let kernel = 1; kernel <= 5; kernel++) {
      for (let stride = 1; stride <= 4; stride++) {
        for (let dilation = 1; dilation <= 3; dilation++) {
          const span = (kernel - 1) * dilation + 1;
          const output = Math.ceil(input / stride);
          const total = Math.max(0, (output - 1) * stride + span - input);
          const upper = resolveAxisPadding('SAME_UPPER', input, kernel, stride, dilation);
          const lower = resolveAxisPadding('SAME_LOWER', input, kernel, stride, dilation);
          const valid = resolveAxisPadding('VALID', input, kernel, stride, dilation);
          const ok =
            upper[0] === Math.floor(total / 2) &&
            upper[1] === Math.ceil(total / 2) &&
            lower[0] === Math.ceil(total / 2) &&
            lower[1] === Math.floor(total / 2) &&
            valid[0] === 0 &&
            valid[1] === 0 &&
            // The defining property: SAME gives output ceil(I/S).
            convOutputSize(input, kernel, stride, dilation, upper[0], upper[1]) === output &&
            convOutputSize(input, kernel, stride, dilation, lower[0], lower[1]) === output;
          if (!ok) {
            failures++;
            if (failures <= 5) t.fail(`I=${input} K=${kernel} S=${stride} D=${dilation}: UPPER ${upper}, LOWER ${lower}, total should be ${total}`);
          }
          checked++;
        }
      }
    }
  }
  t.equal(failures, 0, `all ${checked} axis configurations match`);

  // Both axes resolve independently.
  t.same(resolvePadding('SAME_UPPER', [13, 4], [6, 2], [5, 1], [1, 1]), { top: 1, bottom: 2, left: 0, right: 1 });
  t.same(resolvePadding('SAME_LOWER', [13, 4], [6, 2], [5, 1], [1, 1]), { top: 2, bottom: 1, left: 1, right: 0 });
  t.same(resolvePadding('VALID', [13, 4], [6, 2], [5, 1], [1, 1]), { top: 0, bottom: 0, left: 0, right: 0 });
});

t.test('shape helpers', async (t) => {
  t.equal(shapeSize([2, 3, 4]), 24);
  t.equal(shapeSize([]), 1, 'a scalar has one element');
  t.same(shapeStrides([2, 3, 4]), [12, 4, 1]);
  // 17 = 1*12 + 1*4 + 1 in shape [2, 3, 4].
  t.same(unflattenIndex(17, [2, 3, 4]), [1, 1, 1]);
  t.same(unflattenIndex(23, [2, 3, 4]), [1, 2, 3]);
  t.same(unflattenIndex(0, [2, 3, 4]), [0, 0, 0]);
  // Round trip over every index of a shape.
  const shape = [3, 1, 4, 2];
  const strides = shapeStrides(shape);
  let roundTrips = 0;
  for (let flat = 0; flat < shapeSize(shape); flat++) {
    const index = unflattenIndex(flat, shape);
    if (index.reduce((sum, value, axis) => sum + value * strides[axis], 0) === flat && index.every((value, axis) => value >= 0 && value < shape[axis])) roundTrips++;
  }
  t.equal(roundTrips, shapeSize(shape));
});

t.test('conv2dGeometry derives the shapes; accumulationLengths bounds the brute-force term counts', async (t) => {
  const params: Conv2dParams = { stride: [2, 1], dilation: [1, 2], pads: { top: 1, bottom: 0, left: 2, right: 1 }, groups: 2 };
  const geometry = conv2dGeometry([2, 4, 5, 6], [6, 2, 3, 2], params);
  // OH = floor((5+1+0-3)/2)+1 = 2; OW: E = 2*(2-1)+1 = 3, floor((6+2+1-3)/1)+1 = 7.
  t.same(geometry.dyShape, [2, 6, 2, 7]);
  t.same(geometry.dbShape, [6]);
  t.equal(geometry.inChannelsPerGroup, 2);
  t.equal(geometry.outChannelsPerGroup, 3);

  const prng = new Prng(0x6e0);
  let checked = 0;
  for (let caseIndex = 0; caseIndex < 60; caseIndex++) {
    const config = randomConvConfig(prng);
    const g = conv2dGeometry(
      [config.batch, config.inChannels, config.inHeight, config.inWidth],
      [config.outChannels, config.inChannels / config.params.groups, config.kernelHeight, config.kernelWidth],
      config.params,
    );
    // Count, by walking the forward's (output, tap) pairs, how many products land in each dx/dw/db element.
    const dxCount = new Map<number, number>();
    const dwCount = new Map<number, number>();
    const dbCount = new Map<number, number>();
    const bump = (map: Map<number, number>, key: number): void => {
      map.set(key, (map.get(key) ?? 0) + 1);
    };
    const { stride, dilation, pads } = config.params;
    for (let n = 0; n < g.batch; n++)
      for (let outChannel = 0; outChannel < g.outChannels; outChannel++) {
        const group = Math.floor(outChannel / g.outChannelsPerGroup);
        for (let outRow = 0; outRow < g.outHeight; outRow++)
          for (let outCol = 0; outCol < g.outWidth; outCol++) {
            bump(dbCount, outChannel);
            for (let groupChannel = 0; groupChannel < g.inChannelsPerGroup; groupChannel++)
              for (let kernelRow = 0; kernelRow < g.kernelHeight; kernelRow++)
                for (let kernelCol = 0; kernelCol < g.kernelWidth; kernelCol++) {
                  const inRow = outRow * stride[0] + kernelRow * dilation[0] - pads.top;
                  const inCol = outCol * stride[1] + kernelCol * dilation[1] - pads.left;
                  if (inRow < 0 || inRow >= g.inHeight || inCol < 0 || inCol >= g.inWidth) continue;
                  const inChannel = group * g.inChannelsPerGroup + groupChannel;
                  bump(dxCount, ((n * g.inChannels + inChannel) * g.inHeight + inRow) * g.inWidth + inCol);
                  bump(dwCount, ((outChannel * g.inChannelsPerGroup + groupChannel) * g.kernelHeight + kernelRow) * g.kernelWidth + kernelCol);
                }
          }
      }
    const lengths = accumulationLengths(g);
    const largest = (map: Map<number, number>): number => Math.max(0, ...map.values());
    t.ok(largest(dxCount) <= lengths.dx, `dx: ${largest(dxCount)} <= ${lengths.dx}`);
    t.ok(largest(dwCount) <= lengths.dw, `dw: ${largest(dwCount)} <= ${lengths.dw}`);
    t.equal(largest(dbCount), lengths.db, 'db sums exactly N*OH*OW values of dy');
    checked++;
  }
  t.equal(checked, 60);
});

/** Assert that fn throws an E_GEOMETRY ConformanceError whose message contains every fragment. */
function expectGeometryError(t: Test, fn: () => unknown, fragments: string[], label: string): void {
  let thrown: unknown = undefined;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (!isConformanceError(thrown, 'E_GEOMETRY')) {
    t.fail(`${label}: expected a ConformanceError E_GEOMETRY, got ${thrown === undefined ? 'no error' : String(thrown)}`);
    return;
  }
  t.ok(thrown instanceof ConformanceError);
  for (const fragment of fragments) t.ok(thrown.message.includes(fragment), `${label}: message ${JSON.stringify(thrown.message)} contains ${JSON.stringify(fragment)}`);
}

t.test('every validation error names the value and what was expected', async (t) => {
  const good: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: { top: 0, bottom: 0, left: 0, right: 0 }, groups: 1 };
  const withParams = (change: Record<string, unknown>): unknown => ({ ...good, ...change });

  // Non-integer sizes and parameters.
  expectGeometryError(t, () => conv2dGeometry([1, 1.5, 3, 3], [1, 1, 2, 2], good), ['x shape[1]', 'integer >= 1', 'found 1.5'], 'non-integer channels');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2.5], good), ['w shape[3]', 'integer >= 1', 'found 2.5'], 'non-integer kernel');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ stride: [1.5, 1] })), ['params.stride[0]', 'integer >= 1', 'found 1.5'], 'non-integer stride');
  expectGeometryError(
    t,
    () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ pads: { top: 0, bottom: 0.5, left: 0, right: 0 } })),
    ['params.pads.bottom', 'integer >= 0', 'found 0.5'],
    'non-integer pad',
  );
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ groups: '1' })), ['params.groups', 'integer >= 1', 'found "1"'], 'string groups');

  // Non-positive sizes and parameters.
  expectGeometryError(t, () => conv2dGeometry([0, 1, 3, 3], [1, 1, 2, 2], good), ['x shape[0]', 'integer >= 1', 'found 0'], 'zero batch');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, -2, 2], good), ['w shape[2]', 'integer >= 1', 'found -2'], 'negative kernel');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ stride: [1, 0] })), ['params.stride[1]', 'integer >= 1', 'found 0'], 'zero stride');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ dilation: [0, 1] })), ['params.dilation[0]', 'integer >= 1', 'found 0'], 'zero dilation');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ groups: 0 })), ['params.groups', 'integer >= 1', 'found 0'], 'zero groups');

  // Structural errors.
  expectGeometryError(t, () => conv2dGeometry([1, 3, 3], [1, 1, 2, 2], good), ['x shape', '4 dimensions', 'found [1,3,3]'], 'x not 4-D');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], null), ['params', 'expected an object', 'found null'], 'params null');
  expectGeometryError(t, () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ stride: [1] })), ['params.stride', '[height, width]', 'found [1]'], 'stride not a pair');
  expectGeometryError(t, () => validateParams(withParams({ pads: undefined })), ['params.pads', '{top, bottom, left, right}', 'found undefined'], 'pads missing');

  // Channels vs groups.
  expectGeometryError(
    t,
    () => conv2dGeometry([1, 3, 3, 3], [2, 1, 2, 2], withParams({ groups: 2 })),
    ['x shape[1]', 'input channels 3', 'not divisible by groups 2'],
    'C not divisible by groups',
  );
  expectGeometryError(
    t,
    () => conv2dGeometry([1, 4, 3, 3], [3, 2, 2, 2], withParams({ groups: 2 })),
    ['w shape[0]', 'output channels 3', 'not divisible by groups 2'],
    'Cout not divisible by groups',
  );
  expectGeometryError(
    t,
    () => conv2dGeometry([1, 4, 3, 3], [2, 4, 2, 2], withParams({ groups: 2 })),
    ['w shape[1]', 'C/groups = 4/2 = 2', 'found 4'],
    'w shape[1] wrong',
  );

  // Output < 1: 2x2 input, 3x3 kernel, no pad -> OH = floor((2-3)/1)+1 = 0.
  expectGeometryError(t, () => conv2dGeometry([1, 1, 2, 2], [1, 1, 3, 3], good), ['output size 0x0 < 1', 'dilated kernel 3x3', 'padded input 2x2'], 'kernel too large');
  // With dilation 2x3 a 2x2 kernel spans 3x4 on a 3x3 input: OH = 1, OW = floor((3-4)/1)+1 = 0.
  expectGeometryError(
    t,
    () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ dilation: [2, 3] })),
    ['output size 1x0 < 1', 'dilated kernel 3x4', 'padded input 3x3'],
    'dilated kernel too large',
  );

  // Negative pads have their own message.
  expectGeometryError(
    t,
    () => conv2dGeometry([1, 1, 3, 3], [1, 1, 2, 2], withParams({ pads: { top: 0, bottom: 0, left: -1, right: 0 } })),
    ['params.pads.left', 'negative padding (cropping) is not supported', 'found -1', 'expected an integer >= 0'],
    'negative pad',
  );

  // dy shape mismatch: 3x3 input, 2x2 kernel -> dy must be [1, 1, 2, 2].
  expectGeometryError(
    t,
    () => conv2dBackwardGeometry([1, 1, 3, 3], [1, 1, 2, 2], [1, 1, 2, 3], good),
    ['dy shape', 'expected [1, 1, 2, 2] (N, Cout, OH, OW)', 'found [1,1,2,3]'],
    'dy shape mismatch',
  );
  expectGeometryError(t, () => conv2dBackwardGeometry([1, 1, 3, 3], [1, 1, 2, 2], [1, 2, 2], good), ['dy shape', 'found [1,2,2]'], 'dy not 4-D');
  t.same(conv2dBackwardGeometry([1, 1, 3, 3], [1, 1, 2, 2], [1, 1, 2, 2], good).dyShape, [1, 1, 2, 2], 'the right dy shape passes');

  // The error carries its context.
  let context: Record<string, unknown> = {};
  try {
    conv2dGeometry([1, 3, 3, 3], [2, 1, 2, 2], withParams({ groups: 2 }));
  } catch (error) {
    if (isConformanceError(error)) context = error.context;
  }
  t.same(context, { inChannels: 3, groups: 2 });
});
