/**
 * Exact rewrites of a general Conv2d backward (groups, dilation) into plain
 * convolutions (one group, dilation 1), the only kind TF.js's backprop kernels
 * compute. Pure functions on float64 tensors (NCHW / OIHW), testable without TF.js.
 *
 * Dilation D along an axis, kernel K:
 *  - Zero insertion: the kernel of size E = D*(K-1)+1 holding tap k at k*D and
 *    zeros elsewhere has the same forward as the dilated kernel. For dw, the
 *    plain filter gradient at position k*D sums exactly the products of the
 *    dilated tap k (the other positions are discarded), so dw is exact for every
 *    input. For dx the inserted zeros add products 0*dy: exact zeros while dy is
 *    finite, but 0*Inf = NaN, so with non-finite dy that rewrite is wrong.
 *  - Phases: output o reads input rows o*S + k*D - B, all congruent to
 *    r = (o*S - B) mod D. The outputs of one phase r read only the rows r + j*D
 *    (a "sub-image"), where they form a plain conv with stride S/gcd(S, D);
 *    each input row belongs to one phase, so dx is assembled by placement, with
 *    the same products and no zero taps. This is the exact dx for any dy.
 *
 * Groups: group g reads input channels [g*C/G, (g+1)*C/G) and writes output
 * channels [g*Cout/G, (g+1)*Cout/G): one plain conv per group, dx concatenated
 * along channels, dw along output channels.
 */
import { ConformanceError } from '../src/errors.js';
import { conv2dBackwardGeometry, convOutputSize, effectiveKernelSize, shapeSize } from '../src/geometry.js';
import type { Conv2dParams, Float64Tensor, Pads } from '../src/types.js';

// ---------------------------------------------------------------------------
// Tensors

function float64Tensor(shape: number[], data?: Float64Array): Float64Tensor {
  return { dtype: 'float64', shape: [...shape], data: data ?? new Float64Array(shapeSize(shape)) };
}

/**
 * Reorder the axes of a 4-D tensor: result axis a is input axis order[a].
 * E.g. NCHW -> NHWC is order [0, 2, 3, 1].
 */
export function permute4d(tensor: Float64Tensor, order: readonly [number, number, number, number]): Float64Tensor {
  const shape = order.map((axis) => tensor.shape[axis]);
  const result = float64Tensor(shape);
  const inputStrides = [
    tensor.shape[1] * tensor.shape[2] * tensor.shape[3],
    tensor.shape[2] * tensor.shape[3],
    tensor.shape[3],
    1,
  ];
  const [stride0, stride1, stride2, stride3] = order.map((axis) => inputStrides[axis]);
  let target = 0;
  for (let i0 = 0; i0 < shape[0]; i0++) {
    for (let i1 = 0; i1 < shape[1]; i1++) {
      for (let i2 = 0; i2 < shape[2]; i2++) {
        const base = i0 * stride0 + i1 * stride1 + i2 * stride2;
        for (let i3 = 0; i3 < shape[3]; i3++) result.data[target++] = tensor.data[base + i3 * stride3];
      }
    }
  }
  return result;
}

/** [N, C, H, W] -> [N, H, W, C] */
export function nchwToNhwc(tensor: Float64Tensor): Float64Tensor {
  return permute4d(tensor, [0, 2, 3, 1]);
}

/** [N, H, W, C] -> [N, C, H, W] */
export function nhwcToNchw(tensor: Float64Tensor): Float64Tensor {
  return permute4d(tensor, [0, 3, 1, 2]);
}

/** [O, I, KH, KW] -> [KH, KW, I, O] */
export function oihwToHwio(tensor: Float64Tensor): Float64Tensor {
  return permute4d(tensor, [2, 3, 1, 0]);
}

/** [KH, KW, I, O] -> [O, I, KH, KW] */
export function hwioToOihw(tensor: Float64Tensor): Float64Tensor {
  return permute4d(tensor, [3, 2, 0, 1]);
}

/** Elements [start, start+count) along axis 0 or 1 of a 4-D tensor (the tensor itself when that is all of it). */
export function sliceAxis(tensor: Float64Tensor, axis: 0 | 1, start: number, count: number): Float64Tensor {
  const size = tensor.shape[axis];
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > size) {
    throw new ConformanceError('E_WITNESS', `sliceAxis: range [${start}, ${start + count}) does not fit axis ${axis} of size ${size}`, { start, count, size });
  }
  if (start === 0 && count === size) return tensor;
  const shape = [...tensor.shape];
  shape[axis] = count;
  // Row-major: the slice is `outer` contiguous runs of `count * inner` elements.
  const outer = axis === 0 ? 1 : tensor.shape[0];
  const inner = shapeSize(tensor.shape.slice(axis + 1));
  const result = float64Tensor(shape);
  for (let block = 0; block < outer; block++) {
    const from = (block * size + start) * inner;
    result.data.set(tensor.data.subarray(from, from + count * inner), block * count * inner);
  }
  return result;
}

/** Write `block` into `target` at [start, start + block.shape[axis]) along axis 0 or 1: the inverse of sliceAxis. */
export function writeAxis(target: Float64Tensor, axis: 0 | 1, start: number, block: Float64Tensor): void {
  const size = target.shape[axis];
  const count = block.shape[axis];
  const otherAxesMatch = block.shape.length === 4 && target.shape.every((extent, index) => index === axis || extent === block.shape[index]);
  if (!otherAxesMatch || start < 0 || start + count > size) {
    throw new ConformanceError(
      'E_WITNESS',
      `writeAxis: block [${block.shape.join(', ')}] does not fit target [${target.shape.join(', ')}] at ${start} along axis ${axis}`,
      { start, axis },
    );
  }
  const outer = axis === 0 ? 1 : target.shape[0];
  const inner = shapeSize(target.shape.slice(axis + 1));
  for (let index = 0; index < outer; index++) {
    const from = index * count * inner;
    target.data.set(block.data.subarray(from, from + count * inner), (index * size + start) * inner);
  }
}

// ---------------------------------------------------------------------------
// Dilation by zero insertion

/** The OIHW kernel of size D*(K-1)+1 per axis with tap (kh, kw) at (kh*DH, kw*DW) and zeros elsewhere. */
export function zeroInsertKernel(w: Float64Tensor, dilation: readonly [number, number]): Float64Tensor {
  const [outChannels, inChannels, kernelHeight, kernelWidth] = w.shape;
  const [dilationH, dilationW] = dilation;
  if (dilationH === 1 && dilationW === 1) return w;
  const spanHeight = effectiveKernelSize(kernelHeight, dilationH);
  const spanWidth = effectiveKernelSize(kernelWidth, dilationW);
  const result = float64Tensor([outChannels, inChannels, spanHeight, spanWidth]);
  for (let filter = 0; filter < outChannels * inChannels; filter++) {
    for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
      for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
        result.data[(filter * spanHeight + kernelRow * dilationH) * spanWidth + kernelCol * dilationW] =
          w.data[(filter * kernelHeight + kernelRow) * kernelWidth + kernelCol];
      }
    }
  }
  return result;
}

/** Every d-th element of the spatial axes of an OIHW tensor: the taps a zero-inserted kernel took from the dilated one. */
export function subsampleKernel(dwSpan: Float64Tensor, dilation: readonly [number, number]): Float64Tensor {
  const [outChannels, inChannels, spanHeight, spanWidth] = dwSpan.shape;
  const [dilationH, dilationW] = dilation;
  if (dilationH === 1 && dilationW === 1) return dwSpan;
  if ((spanHeight - 1) % dilationH !== 0 || (spanWidth - 1) % dilationW !== 0) {
    throw new ConformanceError(
      'E_WITNESS',
      `subsampleKernel: span ${spanHeight}x${spanWidth} is not D*(K-1)+1 for dilation ${dilationH}x${dilationW}`,
      { spanHeight, spanWidth, dilation },
    );
  }
  const kernelHeight = (spanHeight - 1) / dilationH + 1;
  const kernelWidth = (spanWidth - 1) / dilationW + 1;
  const result = float64Tensor([outChannels, inChannels, kernelHeight, kernelWidth]);
  for (let filter = 0; filter < outChannels * inChannels; filter++) {
    for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
      for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
        result.data[(filter * kernelHeight + kernelRow) * kernelWidth + kernelCol] =
          dwSpan.data[(filter * spanHeight + kernelRow * dilationH) * spanWidth + kernelCol * dilationW];
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------------------
// Dilation by phases (for dx)

/** One phase of a dilated conv along one axis: a plain conv over the input rows r + j*D. */
export interface AxisPhase {
  /** r: the phase's input rows are r + j*D. */
  phase: number;
  /** The phase's outputs: firstOutput + m*outputStep, m < outputCount (indices into dy). */
  firstOutput: number;
  outputStep: number;
  outputCount: number;
  /** The plain conv's input is the rows phase + (firstRow + a)*D, a < inputCount, of the original input. */
  firstRow: number;
  inputCount: number;
  /** Its stride S/gcd(S, D) and pads (pads may exceed the kernel). */
  stride: number;
  padBefore: number;
  padAfter: number;
}

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function modulo(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}

/**
 * Split one axis of a dilated conv into plain convs, one per phase that has
 * outputs and reads at least one input row. Outputs of phases left out read
 * only padding (they contribute to no dx element); input rows outside every
 * phase's range are read by no window (their dx is 0).
 */
export function axisPhases(input: number, kernel: number, stride: number, dilation: number, padBefore: number, padAfter: number): AxisPhase[] {
  const output = convOutputSize(input, kernel, stride, dilation, padBefore, padAfter);
  const divisor = greatestCommonDivisor(stride, dilation);
  const outputStep = dilation / divisor;
  const phaseStride = stride / divisor;
  const phases: AxisPhase[] = [];
  // Outputs o and o + outputStep have the same phase; the first outputStep outputs cover every phase that occurs.
  for (let firstOutput = 0; firstOutput < Math.min(outputStep, output); firstOutput++) {
    const phase = modulo(firstOutput * stride - padBefore, dilation);
    const outputCount = Math.floor((output - 1 - firstOutput) / outputStep) + 1;
    // Window m starts at sub-image row base + m*phaseStride and covers `kernel` rows.
    const base = (firstOutput * stride - padBefore - phase) / dilation;
    const lastRead = base + (outputCount - 1) * phaseStride + kernel - 1;
    const rowsInPhase = phase < input ? Math.ceil((input - phase) / dilation) : 0;
    const firstRow = Math.max(0, base);
    const endRow = Math.min(rowsInPhase, lastRead + 1);
    if (endRow <= firstRow) continue; // every window of this phase lies in the padding
    phases.push({
      phase,
      firstOutput,
      outputStep,
      outputCount,
      firstRow,
      inputCount: endRow - firstRow,
      stride: phaseStride,
      padBefore: firstRow - base,
      padAfter: lastRead + 1 - endRow,
    });
  }
  return phases;
}

/** dy[:, :, firstOutput + m*outputStep, ...] for the outputs of one (row phase, column phase). */
export function gatherPhaseOutputs(dy: Float64Tensor, rows: AxisPhase, cols: AxisPhase): Float64Tensor {
  const [batch, channels, outHeight, outWidth] = dy.shape;
  const result = float64Tensor([batch, channels, rows.outputCount, cols.outputCount]);
  let target = 0;
  for (let plane = 0; plane < batch * channels; plane++) {
    for (let m = 0; m < rows.outputCount; m++) {
      const rowBase = (plane * outHeight + rows.firstOutput + m * rows.outputStep) * outWidth;
      for (let n = 0; n < cols.outputCount; n++) result.data[target++] = dy.data[rowBase + cols.firstOutput + n * cols.outputStep];
    }
  }
  return result;
}

/** Place a phase's dx [N, C, rows.inputCount, cols.inputCount] at its input rows and columns of dx. */
export function scatterPhaseInputs(dx: Float64Tensor, block: Float64Tensor, rows: AxisPhase, cols: AxisPhase, dilation: readonly [number, number]): void {
  const [batch, channels, inHeight, inWidth] = dx.shape;
  let source = 0;
  for (let plane = 0; plane < batch * channels; plane++) {
    for (let a = 0; a < rows.inputCount; a++) {
      const inRow = rows.phase + (rows.firstRow + a) * dilation[0];
      const rowBase = (plane * inHeight + inRow) * inWidth;
      for (let b = 0; b < cols.inputCount; b++) dx.data[rowBase + cols.phase + (cols.firstRow + b) * dilation[1]] = block.data[source++];
    }
  }
}

// ---------------------------------------------------------------------------
// The whole backward from plain convolutions

/** A backend's plain convolution gradients (one group, dilation 1), NCHW / OIHW float64 in and out. */
export interface PlainConvBackward {
  /** dx [N, C, H, W] of y = conv(x, w) given dy; xShape = [N, C, H, W]. */
  inputGradient(dy: Float64Tensor, w: Float64Tensor, xShape: number[], stride: [number, number], pads: Pads): Float64Array;
  /** dw [Cout, C, KH, KW] of y = conv(x, w) given dy; wShape = [Cout, C, KH, KW]. */
  filterGradient(x: Float64Tensor, dy: Float64Tensor, wShape: number[], stride: [number, number], pads: Pads): Float64Array;
}

/** How dx of a dilated conv is reduced to plain convs. */
export type DilatedInputMethod = 'zero-insertion' | 'phases';

export interface DecomposeOptions {
  /**
   * 'auto' (default): zero insertion (one plain conv per group) unless the
   * conv is dilated and dy holds a non-finite value, where only phases are exact.
   */
  dilatedInput?: 'auto' | DilatedInputMethod;
}

export interface DecomposedGradients {
  dx: Float64Tensor;
  dw: Float64Tensor;
  /** Method used for dx ('zero-insertion' also when there is no dilation: then the kernel is unchanged). */
  dilatedInput: DilatedInputMethod;
  /** Number of plain inputGradient + filterGradient calls made. */
  plainCalls: number;
}

function isDilated(params: Conv2dParams): boolean {
  return params.dilation[0] !== 1 || params.dilation[1] !== 1;
}

/** The zero-insertion rewrite is exact for dx unless a product 0 * dy is NaN. */
export function chooseDilatedInputMethod(dy: Float64Tensor, params: Conv2dParams): DilatedInputMethod {
  if (!isDilated(params)) return 'zero-insertion';
  return dy.data.every(Number.isFinite) ? 'zero-insertion' : 'phases';
}

/**
 * dx and dw of a Conv2d with any groups and dilation, computed with the
 * backend's plain convolutions only. Exact (same products, no extra non-zero
 * terms) for finite inputs with either method; with non-finite inputs, dw is
 * exact always and dx with 'phases'.
 */
export function decomposedConv2dBackward(
  x: Float64Tensor,
  w: Float64Tensor,
  dy: Float64Tensor,
  params: Conv2dParams,
  backend: PlainConvBackward,
  options: DecomposeOptions = {},
): DecomposedGradients {
  const geometry = conv2dBackwardGeometry(x.shape, w.shape, dy.shape, params);
  const { groups, inChannelsPerGroup, outChannelsPerGroup } = geometry;
  const requested = options.dilatedInput ?? 'auto';
  const dilatedInput = requested === 'auto' ? chooseDilatedInputMethod(dy, params) : requested;
  const dx = float64Tensor(geometry.xShape);
  const dw = float64Tensor(geometry.wShape);
  const wSpan = zeroInsertKernel(w, params.dilation);
  let plainCalls = 0;

  for (let group = 0; group < groups; group++) {
    const xGroup = sliceAxis(x, 1, group * inChannelsPerGroup, inChannelsPerGroup);
    const wGroup = sliceAxis(w, 0, group * outChannelsPerGroup, outChannelsPerGroup);
    const wSpanGroup = sliceAxis(wSpan, 0, group * outChannelsPerGroup, outChannelsPerGroup);
    const dyGroup = sliceAxis(dy, 1, group * outChannelsPerGroup, outChannelsPerGroup);

    let dxGroup: Float64Tensor;
    if (dilatedInput === 'zero-insertion') {
      dxGroup = float64Tensor(xGroup.shape, backend.inputGradient(dyGroup, wSpanGroup, xGroup.shape, params.stride, params.pads));
      plainCalls++;
    } else {
      const phased = phasedInputGradient(dyGroup, wGroup, xGroup.shape, params, backend);
      dxGroup = phased.dx;
      plainCalls += phased.plainCalls;
    }
    writeAxis(dx, 1, group * inChannelsPerGroup, dxGroup);

    const dwSpan = float64Tensor(wSpanGroup.shape, backend.filterGradient(xGroup, dyGroup, wSpanGroup.shape, params.stride, params.pads));
    plainCalls++;
    writeAxis(dw, 0, group * outChannelsPerGroup, subsampleKernel(dwSpan, params.dilation));
  }
  return { dx, dw, dilatedInput, plainCalls };
}

/** dx of one group's dilated conv (groups = 1) as plain convs, one per (row phase, column phase). */
export function phasedInputGradient(
  dy: Float64Tensor,
  w: Float64Tensor,
  xShape: number[],
  params: Conv2dParams,
  backend: PlainConvBackward,
): { dx: Float64Tensor; plainCalls: number } {
  const [batch, inChannels, inHeight, inWidth] = xShape;
  const [, , kernelHeight, kernelWidth] = w.shape;
  const { stride, dilation, pads } = params;
  const rowPhases = axisPhases(inHeight, kernelHeight, stride[0], dilation[0], pads.top, pads.bottom);
  const colPhases = axisPhases(inWidth, kernelWidth, stride[1], dilation[1], pads.left, pads.right);
  const dx = float64Tensor(xShape);
  let plainCalls = 0;
  for (const rows of rowPhases) {
    for (const cols of colPhases) {
      const dyPhase = gatherPhaseOutputs(dy, rows, cols);
      const phaseShape = [batch, inChannels, rows.inputCount, cols.inputCount];
      const phasePads: Pads = { top: rows.padBefore, bottom: rows.padAfter, left: cols.padBefore, right: cols.padAfter };
      const block = backend.inputGradient(dyPhase, w, phaseShape, [rows.stride, cols.stride], phasePads);
      plainCalls++;
      scatterPhaseInputs(dx, float64Tensor(phaseShape, block), rows, cols, dilation);
    }
  }
  return { dx, plainCalls };
}
