/**
 * Conv2d geometry: every output size and padding formula of the project lives here.
 *
 * Layouts: x [N, C, H, W], w [Cout, C/groups, KH, KW], dy [N, Cout, OH, OW].
 * Along one axis with input size I, kernel K, stride S, dilation D and pads B (before), A (after):
 *   effective kernel   E  = D*(K-1) + 1
 *   output size        O  = floor((I + B + A - E) / S) + 1
 *   input row read by output o and kernel tap k:  i = o*S + k*D - B
 */
import { ConformanceError, describeValue } from './errors.js';
import type { Conv2dParams, PaddingMode, Pads } from './types.js';

/** Everything that follows from the input and filter shapes and the parameters. */
export interface Conv2dGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  groups: number;
  inChannelsPerGroup: number;
  outChannelsPerGroup: number;
  outHeight: number;
  outWidth: number;
  xShape: number[];
  wShape: number[];
  dyShape: number[];
  dbShape: number[];
}

/** E = D*(K-1) + 1: the span of a dilated kernel. */
export function effectiveKernelSize(kernel: number, dilation: number): number {
  return dilation * (kernel - 1) + 1;
}

/** O = floor((I + B + A - E) / S) + 1. May be < 1 when the kernel does not fit. */
export function convOutputSize(input: number, kernel: number, stride: number, dilation: number, padBefore: number, padAfter: number): number {
  return Math.floor((input + padBefore + padAfter - effectiveKernelSize(kernel, dilation)) / stride) + 1;
}

/**
 * Input rows past the last one any window reads (all I rows when none is read).
 * Their dx is exactly 0. Tap k of window o reads row o*S + k*D - B; for each tap
 * the last window whose row is still inside the input is o = min(O-1, floor((I-1+B-k*D)/S)).
 * (The last window's last tap alone is not enough: with dilation it can land in the
 * after-padding while its other taps leave rows unread, and with pads >= the kernel
 * no row may be read at all.)
 */
export function unreadTailSize(input: number, kernel: number, stride: number, dilation: number, padBefore: number, padAfter: number): number {
  const output = convOutputSize(input, kernel, stride, dilation, padBefore, padAfter);
  let lastRead = -1;
  for (let kernelIndex = 0; kernelIndex < kernel; kernelIndex++) {
    const offset = kernelIndex * dilation - padBefore;
    const window = Math.min(output - 1, Math.floor((input - 1 - offset) / stride));
    const row = window * stride + offset;
    if (window >= 0 && row >= 0 && row > lastRead) lastRead = row;
  }
  return input - 1 - lastRead;
}

/**
 * ConvTranspose `output_padding` that makes the transposed conv of dy give back
 * an input of size I: I - ((O-1)*S + E - B - A). It is the number of tail rows
 * no window reaches, counted through the after-padding.
 */
export function transposeOutputPadding(input: number, kernel: number, stride: number, dilation: number, padBefore: number, padAfter: number): number {
  const output = convOutputSize(input, kernel, stride, dilation, padBefore, padAfter);
  return input - ((output - 1) * stride + effectiveKernelSize(kernel, dilation) - padBefore - padAfter);
}

/**
 * Resolve ONNX/TF auto padding along one axis into [before, after].
 * SAME: O = ceil(I / S), total = max(0, (O-1)*S + E - I); SAME_UPPER puts the
 * odd extra pad after (TF's SAME), SAME_LOWER before. VALID: no padding.
 */
export function resolveAxisPadding(mode: PaddingMode, input: number, kernel: number, stride: number, dilation: number): [number, number] {
  if (mode === 'VALID') return [0, 0];
  if (mode === 'EXPLICIT') {
    throw new ConformanceError('E_GEOMETRY', 'resolveAxisPadding: EXPLICIT padding has no rule to resolve; pass the pads themselves', { mode });
  }
  const output = Math.floor((input + stride - 1) / stride);
  const total = Math.max(0, (output - 1) * stride + effectiveKernelSize(kernel, dilation) - input);
  const small = Math.floor(total / 2);
  const large = total - small;
  return mode === 'SAME_UPPER' ? [small, large] : [large, small];
}

/** Resolve a padding mode for both axes into explicit pads. */
export function resolvePadding(
  mode: Exclude<PaddingMode, 'EXPLICIT'>,
  inputHW: [number, number],
  kernelHW: [number, number],
  stride: [number, number],
  dilation: [number, number],
): Pads {
  const [top, bottom] = resolveAxisPadding(mode, inputHW[0], kernelHW[0], stride[0], dilation[0]);
  const [left, right] = resolveAxisPadding(mode, inputHW[1], kernelHW[1], stride[1], dilation[1]);
  return { top, bottom, left, right };
}

function requireInteger(value: unknown, where: string, minimum: number, meaning: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    const expected = minimum === 0 ? 'an integer >= 0' : `an integer >= ${minimum}`;
    throw new ConformanceError('E_GEOMETRY', `${where}: expected ${expected} (${meaning}), found ${describeValue(value)}`, { where, value });
  }
  return value;
}

function requireShape(shape: unknown, name: string, meaning: string): number[] {
  if (!Array.isArray(shape) || shape.length !== 4) {
    throw new ConformanceError('E_GEOMETRY', `${name} shape: expected 4 dimensions ${meaning}, found ${describeValue(shape)}`, { name, shape });
  }
  return shape.map((size, axis) => requireInteger(size, `${name} shape[${axis}]`, 1, `dimension of ${meaning}`));
}

/** Check the parameters themselves (types and ranges), independent of shapes. */
export function validateParams(params: unknown): Conv2dParams {
  if (typeof params !== 'object' || params === null) {
    throw new ConformanceError('E_GEOMETRY', `params: expected an object {stride, dilation, pads, groups}, found ${describeValue(params)}`, { params });
  }
  const candidate = params as Record<string, unknown>;
  const pair = (key: 'stride' | 'dilation'): [number, number] => {
    const value = candidate[key];
    if (!Array.isArray(value) || value.length !== 2) {
      throw new ConformanceError('E_GEOMETRY', `params.${key}: expected [height, width], found ${describeValue(value)}`, { key, value });
    }
    return [requireInteger(value[0], `params.${key}[0]`, 1, `${key} along height`), requireInteger(value[1], `params.${key}[1]`, 1, `${key} along width`)];
  };
  const stride = pair('stride');
  const dilation = pair('dilation');
  const pads = candidate.pads as Record<string, unknown> | undefined;
  if (typeof pads !== 'object' || pads === null) {
    throw new ConformanceError('E_GEOMETRY', `params.pads: expected {top, bottom, left, right}, found ${describeValue(pads)}`, { pads });
  }
  const side = (key: keyof Pads): number => {
    const value = pads[key];
    if (typeof value === 'number' && Number.isInteger(value) && value < 0) {
      throw new ConformanceError('E_GEOMETRY', `params.pads.${key}: negative padding (cropping) is not supported, found ${value}; expected an integer >= 0`, { key, value });
    }
    return requireInteger(value, `params.pads.${key}`, 0, 'zero padding');
  };
  const resolved: Pads = { top: side('top'), bottom: side('bottom'), left: side('left'), right: side('right') };
  const groups = requireInteger(candidate.groups, 'params.groups', 1, 'number of groups');
  return { stride, dilation, pads: resolved, groups };
}

/**
 * Validate shapes and parameters together and derive the geometry.
 * Every public entry point that takes x, w and params calls this; internals trust it.
 */
export function conv2dGeometry(xShape: unknown, wShape: unknown, params: unknown): Conv2dGeometry {
  const [batch, inChannels, inHeight, inWidth] = requireShape(xShape, 'x', '[N, C, H, W]');
  const [outChannels, inChannelsPerGroup, kernelHeight, kernelWidth] = requireShape(wShape, 'w', '[Cout, C/groups, KH, KW]');
  const checked = validateParams(params);
  const { groups, stride, dilation, pads } = checked;
  if (inChannels % groups !== 0) {
    throw new ConformanceError('E_GEOMETRY', `x shape[1]: input channels ${inChannels} are not divisible by groups ${groups}`, { inChannels, groups });
  }
  if (outChannels % groups !== 0) {
    throw new ConformanceError('E_GEOMETRY', `w shape[0]: output channels ${outChannels} are not divisible by groups ${groups}`, { outChannels, groups });
  }
  if (inChannelsPerGroup !== inChannels / groups) {
    throw new ConformanceError(
      'E_GEOMETRY',
      `w shape[1]: expected C/groups = ${inChannels}/${groups} = ${inChannels / groups} input channels per group, found ${inChannelsPerGroup}`,
      { inChannels, groups, inChannelsPerGroup },
    );
  }
  const outHeight = convOutputSize(inHeight, kernelHeight, stride[0], dilation[0], pads.top, pads.bottom);
  const outWidth = convOutputSize(inWidth, kernelWidth, stride[1], dilation[1], pads.left, pads.right);
  if (outHeight < 1 || outWidth < 1) {
    throw new ConformanceError(
      'E_GEOMETRY',
      `output size ${outHeight}x${outWidth} < 1: the dilated kernel ${effectiveKernelSize(kernelHeight, dilation[0])}x${effectiveKernelSize(kernelWidth, dilation[1])} ` +
        `does not fit the padded input ${inHeight + pads.top + pads.bottom}x${inWidth + pads.left + pads.right}`,
      { outHeight, outWidth },
    );
  }
  return {
    batch,
    inChannels,
    inHeight,
    inWidth,
    outChannels,
    kernelHeight,
    kernelWidth,
    groups,
    inChannelsPerGroup,
    outChannelsPerGroup: outChannels / groups,
    outHeight,
    outWidth,
    xShape: [batch, inChannels, inHeight, inWidth],
    wShape: [outChannels, inChannelsPerGroup, kernelHeight, kernelWidth],
    dyShape: [batch, outChannels, outHeight, outWidth],
    dbShape: [outChannels],
  };
}

/** Like conv2dGeometry, and also checks that dy has the shape the forward would produce. */
export function conv2dBackwardGeometry(xShape: unknown, wShape: unknown, dyShape: unknown, params: unknown): Conv2dGeometry {
  const geometry = conv2dGeometry(xShape, wShape, params);
  const expected = geometry.dyShape;
  if (!Array.isArray(dyShape) || dyShape.length !== 4 || dyShape.some((size, axis) => size !== expected[axis])) {
    throw new ConformanceError('E_GEOMETRY', `dy shape: expected [${expected.join(', ')}] (N, Cout, OH, OW), found ${describeValue(dyShape)}`, {
      expected,
      found: dyShape,
    });
  }
  return geometry;
}

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

/** Row-major strides of a shape. */
export function shapeStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = step;
    step *= shape[axis];
  }
  return strides;
}

/** Multi-index of a flat row-major index. */
export function unflattenIndex(flatIndex: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  let rest = flatIndex;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
  }
  return index;
}

/**
 * Accumulation length of each output: the largest number of products summed into one element.
 * dx: Cout/groups * KH * KW terms (at most); dw and db: N * OH * OW terms.
 */
export function accumulationLengths(geometry: Conv2dGeometry): { dx: number; dw: number; db: number } {
  const spatial = geometry.batch * geometry.outHeight * geometry.outWidth;
  return {
    dx: geometry.outChannelsPerGroup * geometry.kernelHeight * geometry.kernelWidth,
    dw: spatial,
    db: spatial,
  };
}

/** Accumulation length of the forward output y: (C/groups) * KH * KW products per element (at most). */
export function forwardAccumulationLength(geometry: Conv2dGeometry): number {
  return geometry.inChannelsPerGroup * geometry.kernelHeight * geometry.kernelWidth;
}
