/**
 * The TensorFlow.js backend: dx and dw from TF.js's Conv2DBackpropInput and
 * Conv2DBackpropFilter kernels (called through the engine), db from tf.sum; the
 * forward y from tf.conv2d, one call per group.
 *
 * Backend: @tensorflow/tfjs-node when it is already installed (it is never a
 * dependency: its install script downloads libtensorflow), otherwise the CPU
 * kernels of @tensorflow/tfjs. `name` says which one computed ('tfjs-node' or
 * 'tfjs-cpu'); `fallbackReason` keeps why tfjs-node was not used.
 *
 * TF.js's backprop kernels take one group and no dilation, NHWC activations and
 * HWIO filters; groups and dilation are rewritten exactly into such plain convs
 * by ./tfjs-decompositions.ts, and layouts are converted on the way in and out.
 * TF.js computes in float32: float16, bfloat16 and float32 inputs convert exactly, and
 * float64 inputs must be float32 values (checked, with an E_WITNESS error).
 * @tensorflow/tfjs is an optional peer dependency, imported on create().
 * As a bundled adapter it declares float16, float32 and bfloat16 (TFJS_DTYPES): a float32
 * result rounded once to a 16-bit dtype meets that dtype's bound.
 */
import type * as TfModule from '@tensorflow/tfjs';
import { toFloat64Array, expectedArrayType } from '../src/dtype.js';
import { ConformanceError, describeValue } from '../src/errors.js';
import { conv2dBackwardGeometry, conv2dGeometry, convOutputSize, shapeSize } from '../src/geometry.js';
import { DTYPES } from '../src/types.js';
import type { Dtype, Float64Tensor, Pads, Tensor } from '../src/types.js';
import {
  decomposedConv2dBackward,
  hwioToOihw,
  nchwToNhwc,
  nhwcToNchw,
  oihwToHwio,
  type DecomposeOptions,
  type DilatedInputMethod,
  type PlainConvBackward,
} from './tfjs-decompositions.js';
import type { Backend, BackendForwardRequest, BackendForwardResult, BackendRequest, BackendResult } from './backend.js';
import { importOptional } from './load-optional.js';

type Tf = typeof TfModule;

export type TfjsBackendName = 'tfjs-node' | 'tfjs-cpu';

export interface TfjsBackendOptions {
  /** 'auto' (default): tfjs-node when it can be loaded, else tfjs CPU. 'cpu': tfjs CPU without trying tfjs-node. */
  backend?: 'auto' | 'cpu';
  /** How dx of dilated convs is rewritten (see tfjs-decompositions.ts); default 'auto'. */
  dilatedInput?: DecomposeOptions['dilatedInput'];
}

/** What the last compute() did, for tests and debugging. */
export interface TfjsComputeInfo {
  dilatedInput: DilatedInputMethod;
  /** Backprop kernel calls made (dx and dw; db is one more tf.sum). */
  kernelCalls: number;
}

/** The fixture dtypes whose bound this backend's results meet (a float32 result cannot meet the float64 bound). */
export const TFJS_DTYPES: readonly Dtype[] = ['float16', 'float32', 'bfloat16'];

const TFJS_NODE_SPECIFIER = '@tensorflow/tfjs-node';

interface LoadedBackend {
  tf: Tf;
  name: TfjsBackendName;
  version: string;
  fallbackReason: string | null;
}

function versionOf(tf: Tf, key: string): string {
  const versions = tf.version as unknown as Record<string, string | undefined>;
  return versions[key] ?? tf.version_core;
}

async function loadTfjsNode(): Promise<LoadedBackend> {
  // A variable specifier: the package is optional and has no type declarations here.
  const loaded = (await import(TFJS_NODE_SPECIFIER)) as { default?: Tf } & Tf;
  const tf = (loaded.default ?? loaded) as Tf;
  if (!(await tf.setBackend('tensorflow'))) {
    throw new Error(`tf.setBackend('tensorflow') returned false (backends registered: ${Object.keys(tf.engine().registryFactory).join(', ')})`);
  }
  await tf.ready();
  return { tf, name: 'tfjs-node', version: versionOf(tf, 'tfjs-node'), fallbackReason: null };
}

async function loadTfjsCpu(fallbackReason: string | null): Promise<LoadedBackend> {
  const tf: Tf = await importOptional('@tensorflow/tfjs', 'the tfjs backend', () => import('@tensorflow/tfjs'));
  if (!(await tf.setBackend('cpu'))) {
    throw new ConformanceError('E_WITNESS', "tfjs backend: tf.setBackend('cpu') failed; @tensorflow/tfjs's CPU backend is not available", {});
  }
  await tf.ready();
  silenceNodeBanner(tf);
  return { tf, name: 'tfjs-cpu', version: versionOf(tf, 'tfjs-backend-cpu'), fallbackReason };
}

/**
 * The CPU backend prints an "install tfjs-node" banner on its first tensor
 * write unless the PROD flag is set. Make that first write with PROD set, then
 * restore the flag, so nothing else in the process changes.
 */
function silenceNodeBanner(tf: Tf): void {
  const environment = tf.env();
  const previous = environment.getBool('PROD');
  environment.set('PROD', true);
  try {
    tf.tensor1d([0]).dispose();
  } finally {
    environment.set('PROD', previous);
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return describeValue(error);
}

function explicitPadding(pads: Pads): number[][] {
  return [
    [0, 0],
    [pads.top, pads.bottom],
    [pads.left, pads.right],
    [0, 0],
  ];
}

function checkResultShape(kernel: string, found: number[], expected: number[]): void {
  if (found.length !== expected.length || found.some((size, axis) => size !== expected[axis])) {
    throw new ConformanceError('E_WITNESS', `tfjs backend: ${kernel} returned shape [${found.join(', ')}], expected [${expected.join(', ')}]`, {
      kernel,
      found,
      expected,
    });
  }
}

/** Decode one input to float64 after checking it at the boundary; float64 inputs must be float32 values. */
function decodeInput(tensor: Tensor, name: string): Float64Tensor {
  if (!DTYPES.includes(tensor.dtype)) {
    throw new ConformanceError('E_WITNESS', `tfjs backend: ${name}.dtype: expected one of ${DTYPES.join(', ')}, found ${describeValue(tensor.dtype)}`, { name });
  }
  const arrayType = expectedArrayType(tensor.dtype);
  if (Object.prototype.toString.call(tensor.data) !== `[object ${arrayType}]`) {
    throw new ConformanceError(
      'E_WITNESS',
      `tfjs backend: ${name}.data: a ${tensor.dtype} tensor needs a ${arrayType}, found ${Object.prototype.toString.call(tensor.data)}`,
      { name },
    );
  }
  const length = shapeSize(tensor.shape);
  if (tensor.data.length !== length) {
    throw new ConformanceError('E_WITNESS', `tfjs backend: ${name}: shape [${tensor.shape.join(', ')}] needs ${length} elements, found ${tensor.data.length}`, {
      name,
    });
  }
  const data = toFloat64Array(tensor.data, tensor.dtype);
  if (tensor.dtype === 'float64') {
    for (let index = 0; index < data.length; index++) {
      const value = data[index];
      if (Math.fround(value) !== value && !Number.isNaN(value)) {
        throw new ConformanceError(
          'E_WITNESS',
          `tfjs backend: ${name}[${index}] = ${value} (float64) is not exactly representable in float32, the precision TF.js computes in; ` +
            `expected float64 fixture inputs that are float32 values (nearest float32: ${Math.fround(value)})`,
          { name, index, value },
        );
      }
    }
  }
  return { dtype: 'float64', shape: [...tensor.shape], data };
}

export class TfjsBackend implements Backend {
  readonly name: TfjsBackendName;
  readonly version: string;
  readonly dtypes = TFJS_DTYPES;
  /** Why tfjs-node was not used: null when it was, or when it was not tried (backend 'cpu'). */
  readonly fallbackReason: string | null;
  /** What the last compute() did. */
  lastCompute: TfjsComputeInfo | null = null;
  private readonly tf: Tf;
  private readonly decomposeOptions: DecomposeOptions;
  private disposed = false;

  private constructor(loaded: LoadedBackend, options: TfjsBackendOptions) {
    this.tf = loaded.tf;
    this.name = loaded.name;
    this.version = loaded.version;
    this.fallbackReason = loaded.fallbackReason;
    this.decomposeOptions = { dilatedInput: options.dilatedInput ?? 'auto' };
  }

  static async create(options: TfjsBackendOptions = {}): Promise<TfjsBackend> {
    if ((options.backend ?? 'auto') === 'cpu') return new TfjsBackend(await loadTfjsCpu(null), options);
    let loaded: LoadedBackend;
    try {
      loaded = await loadTfjsNode();
    } catch (error) {
      loaded = await loadTfjsCpu(`${TFJS_NODE_SPECIFIER} could not be used (${errorText(error)}); using @tensorflow/tfjs's CPU kernels`);
    }
    return new TfjsBackend(loaded, options);
  }

  /** The backend's tensor count (tf.memory().numTensors), to check that compute() leaks nothing. */
  tensorCount(): number {
    return this.tf.memory().numTensors;
  }

  async compute(request: BackendRequest): Promise<BackendResult> {
    if (this.disposed) throw new ConformanceError('E_WITNESS', `tfjs backend: compute() called after dispose()`, {});
    const { params } = request;
    conv2dBackwardGeometry(request.x.shape, request.w.shape, request.dy.shape, params);
    const x = decodeInput(request.x, 'x');
    const w = decodeInput(request.w, 'w');
    const dy = decodeInput(request.dy, 'dy');
    const plain: PlainConvBackward = {
      inputGradient: (dyPlain, wPlain, xShape, stride, pads) => this.inputGradient(dyPlain, wPlain, xShape, stride, pads),
      filterGradient: (xPlain, dyPlain, wShape, stride, pads) => this.filterGradient(xPlain, dyPlain, wShape, stride, pads),
    };
    const gradients = decomposedConv2dBackward(x, w, dy, params, plain, this.decomposeOptions);
    const db = this.biasGradient(dy);
    this.lastCompute = { dilatedInput: gradients.dilatedInput, kernelCalls: gradients.plainCalls };
    return { dx: gradients.dx.data, dw: gradients.dw.data, db, computeDtype: 'float32' };
  }

  /**
   * y = conv(x, w) (no bias) by tf.conv2d, one call per group (TF.js has no grouped conv2d)
   * on NHWC x and HWIO filter slices. tf.conv2d refuses strides and dilations both above 1:
   * then it runs with stride 1 and y keeps every stride-th output, the very same windows.
   */
  async forward(request: BackendForwardRequest): Promise<BackendForwardResult> {
    if (this.disposed) throw new ConformanceError('E_WITNESS', `tfjs backend: forward() called after dispose()`, {});
    const { params } = request;
    const geometry = conv2dGeometry(request.x.shape, request.w.shape, params);
    const x = decodeInput(request.x, 'x');
    const w = decodeInput(request.w, 'w');
    const { batch, inChannels, inHeight, inWidth, outChannels, kernelHeight, kernelWidth, groups, inChannelsPerGroup, outChannelsPerGroup, outHeight, outWidth } = geometry;
    const { stride, dilation, pads } = params;
    const subsample = stride.some((size) => size > 1) && dilation.some((size) => size > 1);
    const callStride: [number, number] = subsample ? [1, 1] : [stride[0], stride[1]];
    const callHeight = subsample ? convOutputSize(inHeight, kernelHeight, 1, dilation[0], pads.top, pads.bottom) : outHeight;
    const callWidth = subsample ? convOutputSize(inWidth, kernelWidth, 1, dilation[1], pads.left, pads.right) : outWidth;
    const [rowStep, colStep] = subsample ? stride : [1, 1];
    const y = new Float64Array(batch * outChannels * outHeight * outWidth);
    const tf = this.tf;
    for (let group = 0; group < groups; group++) {
      const xGroup = new Float32Array(batch * inHeight * inWidth * inChannelsPerGroup);
      for (let n = 0; n < batch; n++)
        for (let row = 0; row < inHeight; row++)
          for (let col = 0; col < inWidth; col++)
            for (let channel = 0; channel < inChannelsPerGroup; channel++) {
              const inChannel = group * inChannelsPerGroup + channel;
              xGroup[((n * inHeight + row) * inWidth + col) * inChannelsPerGroup + channel] = x.data[((n * inChannels + inChannel) * inHeight + row) * inWidth + col];
            }
      const wGroup = new Float32Array(kernelHeight * kernelWidth * inChannelsPerGroup * outChannelsPerGroup);
      for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++)
        for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++)
          for (let channel = 0; channel < inChannelsPerGroup; channel++)
            for (let filter = 0; filter < outChannelsPerGroup; filter++) {
              const outChannel = group * outChannelsPerGroup + filter;
              wGroup[((kernelRow * kernelWidth + kernelCol) * inChannelsPerGroup + channel) * outChannelsPerGroup + filter] =
                w.data[((outChannel * inChannelsPerGroup + channel) * kernelHeight + kernelRow) * kernelWidth + kernelCol];
            }
      const tensors: TfModule.Tensor[] = [];
      let data: Float32Array | Int32Array | Uint8Array;
      try {
        const xTensor = tf.tensor4d(xGroup, [batch, inHeight, inWidth, inChannelsPerGroup]);
        tensors.push(xTensor);
        const wTensor = tf.tensor4d(wGroup, [kernelHeight, kernelWidth, inChannelsPerGroup, outChannelsPerGroup]);
        tensors.push(wTensor);
        const result = tf.conv2d(xTensor, wTensor, callStride, explicitPadding(pads) as Parameters<Tf['conv2d']>[3], 'NHWC', [dilation[0], dilation[1]]);
        tensors.push(result);
        checkResultShape('conv2d', result.shape, [batch, callHeight, callWidth, outChannelsPerGroup]);
        data = result.dataSync();
      } finally {
        for (const tensor of tensors) tensor.dispose();
      }
      for (let n = 0; n < batch; n++)
        for (let filter = 0; filter < outChannelsPerGroup; filter++)
          for (let outRow = 0; outRow < outHeight; outRow++)
            for (let outCol = 0; outCol < outWidth; outCol++) {
              const outChannel = group * outChannelsPerGroup + filter;
              y[((n * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol] =
                data[((n * callHeight + outRow * rowStep) * callWidth + outCol * colStep) * outChannelsPerGroup + filter];
            }
    }
    return { y, computeDtype: 'float32' };
  }

  async dispose(): Promise<void> {
    // Every tensor is disposed inside compute(); the TF.js engine is process-wide and stays.
    this.disposed = true;
  }

  /** TF.js Conv2DBackpropInput on NHWC dy and HWIO filter; returns NCHW dx. */
  private inputGradient(dy: Float64Tensor, w: Float64Tensor, xShape: number[], stride: [number, number], pads: Pads): Float64Array {
    const [batch, inChannels, inHeight, inWidth] = xShape;
    const inputShape: Shape4 = [batch, inHeight, inWidth, inChannels];
    const dx = this.backpropKernel('Conv2DBackpropInput', { dy: nchwToNhwc(dy), filter: oihwToHwio(w) }, inputShape, {
      strides: stride, pad: explicitPadding(pads), dataFormat: 'NHWC', dimRoundingMode: 'floor', inputShape,
    });
    return nhwcToNchw({ dtype: 'float64', shape: inputShape, data: dx }).data;
  }

  /** TF.js Conv2DBackpropFilter on NHWC x and dy; returns OIHW dw. */
  private filterGradient(x: Float64Tensor, dy: Float64Tensor, wShape: number[], stride: [number, number], pads: Pads): Float64Array {
    const [outChannels, inChannels, kernelHeight, kernelWidth] = wShape;
    const filterShape: Shape4 = [kernelHeight, kernelWidth, inChannels, outChannels];
    const dw = this.backpropKernel('Conv2DBackpropFilter', { x: nchwToNhwc(x), dy: nchwToNhwc(dy) }, filterShape, {
      strides: stride, pad: explicitPadding(pads), dataFormat: 'NHWC', dimRoundingMode: 'floor', filterShape,
    });
    return hwioToOihw({ dtype: 'float64', shape: filterShape, data: dw }).data;
  }

  /** Run one TF.js backprop kernel on float32 copies of its inputs; check the result's shape; dispose every tensor. */
  private backpropKernel(name: string, inputs: Record<string, Float64Tensor>, resultShape: Shape4, attrs: Record<string, unknown>): Float64Array {
    const tf = this.tf;
    const tensors: TfModule.Tensor[] = [];
    try {
      const inputTensors: Record<string, TfModule.Tensor> = {};
      for (const [inputName, tensor] of Object.entries(inputs)) {
        const created = tf.tensor4d(Float32Array.from(tensor.data), tensor.shape as Shape4);
        tensors.push(created);
        inputTensors[inputName] = created;
      }
      const result = tf.engine().runKernel<TfModule.Tensor>(name, inputTensors, attrs as TfModule.NamedAttrMap);
      tensors.push(result);
      checkResultShape(name, result.shape, resultShape);
      return Float64Array.from(result.dataSync());
    } finally {
      for (const tensor of tensors) tensor.dispose();
    }
  }

  /** db[o] = sum of dy[n, o, h, w] over n, h, w, by tf.sum. */
  private biasGradient(dy: Float64Tensor): Float64Array {
    const tf = this.tf;
    const tensors: TfModule.Tensor[] = [];
    try {
      const dyTensor = tf.tensor4d(Float32Array.from(dy.data), dy.shape as [number, number, number, number]);
      tensors.push(dyTensor);
      const db = tf.sum(dyTensor, [0, 2, 3]);
      tensors.push(db);
      checkResultShape('sum', db.shape, [dy.shape[1]]);
      return Float64Array.from(db.dataSync());
    } finally {
      for (const tensor of tensors) tensor.dispose();
    }
  }
}

type Shape4 = [number, number, number, number];

/** Load the best available TF.js backend (E_BACKEND_MISSING without @tensorflow/tfjs) and return a backend on it. */
export function createTfjsBackend(options: TfjsBackendOptions = {}): Promise<TfjsBackend> {
  return TfjsBackend.create(options);
}
