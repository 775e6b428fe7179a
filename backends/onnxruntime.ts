/**
 * The onnxruntime-node backend: computes dx, dw and db with ONNX Runtime's CPU
 * kernels from a model built in memory (./onnx-protobuf.ts). onnxruntime-node is
 * an optional peer dependency, imported by createOnnxruntimeBackend() (a missing
 * package is E_BACKEND_MISSING).
 *
 * One model per (compute dtype, shapes, parameters), opset 17, inputs x, w, dy:
 *   dx = ConvTranspose(dy, w) with the forward's strides, dilations, group, pads and
 *        kernel_shape, plus output_padding = transposeOutputPadding(...) (the tail rows
 *        no window reaches) so that dx has x's shape. ONNX's ConvTranspose weight is
 *        [C_in of the transpose, C_out of the transpose / group, KH, KW] = [Cout, C/G, KH, KW]:
 *        exactly the forward's OIHW filter.
 *   dw = a grouped Conv with batch and channel axes exchanged:
 *        x [N, C, H, W] -> [N, G, C/G, H, W] -> [C/G, G, N, H, W] -> [C/G, G*N, H, W]
 *        (batch = channel within the group, channels = (group, n)), dy -> [Cout, N, OH, OW]
 *        as the filter (group g's Cout/G filters each see that group's N channels), with the
 *        forward's pads, stride = forward dilation, dilation = forward stride, group = G:
 *          out[c', o, kh, kw] = sum_{n, oh, ow} x[n, g(o)*C/G + c', oh*S + kh*D - top, ...] * dy[n, o, oh, ow]
 *        which is dw[o, c', kh, kw]. The output [C/G, Cout, KH', KW'] is transposed to
 *        [Cout, C/G, KH', KW'] and sliced to [KH, KW] (KH' >= KH: the extra taps lie in
 *        the after-padding).
 *   db = ReduceSum(dy, axes [0, 2, 3], keepdims 0).
 * forward() builds a second model, y = Conv(x, w) with the forward's own attributes (no bias).
 * Sessions run single-threaded and sequentially so results repeat run to run.
 *
 * dtype: the CPU provider has float32 kernels for these ops but none in float64.
 *  - float32 inputs run in float32.
 *  - float64 inputs run in float32 too (computeDtype 'float32'; the agreement check
 *    must use float32 bounds). ASSUMPTION: the generator keeps float64 fixture inputs
 *    exactly representable in float32, so the backend sees the very same inputs and its
 *    error is only float32 arithmetic. compute() asserts this for every element and
 *    throws E_WITNESS otherwise.
 *  - float16 inputs run in float16 only if the provider has native float16 kernels
 *    for Conv, ConvTranspose and ReduceSum. Where it has not, ORT silently wraps the
 *    float32 kernel in Cast nodes (its InsertCastTransformer), i.e. computes in float32
 *    and rounds the outputs to float16. A one-time probe (a profiled float16 session)
 *    tells the two apart; without native kernels the backend runs the float32 model on
 *    the float16 values (exactly representable) and reports computeDtype 'float32'.
 *  - bfloat16 inputs run in float32 (computeDtype 'float32'): every bfloat16 value is a
 *    float32 value, and the CPU provider has no bfloat16 Conv kernels.
 * As a bundled adapter it declares float16, float32 and bfloat16 (ONNXRUNTIME_DTYPES): float64
 * results computed in float32 cannot meet the float64 bound.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { bitsToFloat64, expectedArrayType, isBits16, toFloat64Array } from '../src/dtype.js';
import { ConformanceError, describeValue } from '../src/errors.js';
import { conv2dBackwardGeometry, conv2dGeometry, shapeSize, transposeOutputPadding, type Conv2dGeometry } from '../src/geometry.js';
import type { Conv2dParams, Dtype, Tensor } from '../src/types.js';
import { encodeModel, type OnnxElementType, type OnnxNode } from './onnx-protobuf.js';
import type { Backend, BackendForwardRequest, BackendForwardResult, BackendRequest, BackendResult } from './backend.js';
import { importOptional } from './load-optional.js';

type OrtModule = typeof Ort;

/**
 * The fixture dtypes whose bound this backend's results meet: float16 and bfloat16 inputs
 * widen exactly to float32, and a float32 result rounded once to either meets its bound.
 */
export const ONNXRUNTIME_DTYPES: readonly Dtype[] = ['float16', 'float32', 'bfloat16'];

/** onnxruntime-node, or E_BACKEND_MISSING naming what to install. */
export function loadOnnxruntime(): Promise<OrtModule> {
  return importOptional('onnxruntime-node', 'the onnxruntime backend', () => import('onnxruntime-node'));
}

/** The ONNX operator set the models import (ReduceSum takes axes as an input since 13). */
export const ONNX_OPSET_VERSION = 17;
/** The IR version that goes with opset 17. */
export const ONNX_IR_VERSION = 8;

/** The precisions the models can be built in. */
export type OnnxComputeDtype = 'float32' | 'float16';

const ELEMENT_TYPE: Record<OnnxComputeDtype, OnnxElementType> = { float32: 'float', float16: 'float16' };

/** The operators whose float16 kernels decide whether float16 inputs run in float16. */
const ARITHMETIC_OPS = ['Conv', 'ConvTranspose', 'ReduceSum'];

const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  // The graph runs as written: no fusions or layout changes (which would only change kernels, not maths).
  graphOptimizationLevel: 'disabled',
};

function readPackageVersion(): string {
  const require = createRequire(import.meta.url);
  const manifest = require('onnxruntime-node/package.json') as { version?: unknown };
  if (typeof manifest.version !== 'string') {
    throw new ConformanceError('E_WITNESS', `onnxruntime-node/package.json: expected a string "version", found ${describeValue(manifest.version)}`);
  }
  return manifest.version;
}

/**
 * The ONNX model computing dx, dw, db (outputs in that order) from inputs x, w, dy
 * of the given geometry and parameters, in `computeDtype` throughout.
 */
export function buildConv2dBackwardModel(geometry: Conv2dGeometry, params: Conv2dParams, computeDtype: OnnxComputeDtype): Uint8Array {
  const { batch, inHeight, inWidth, kernelHeight, kernelWidth, groups, inChannelsPerGroup, outHeight, outWidth } = geometry;
  const { stride, dilation, pads } = params;
  const onnxPads = [pads.top, pads.left, pads.bottom, pads.right];
  const outputPadding = [
    transposeOutputPadding(inHeight, kernelHeight, stride[0], dilation[0], pads.top, pads.bottom),
    transposeOutputPadding(inWidth, kernelWidth, stride[1], dilation[1], pads.left, pads.right),
  ];
  const constant = (output: string, value: number[]): OnnxNode => ({
    opType: 'Constant',
    name: output,
    inputs: [],
    outputs: [output],
    attributes: [{ name: 'value_ints', type: 'ints', value }],
  });
  const nodes: OnnxNode[] = [
    {
      opType: 'ConvTranspose',
      name: 'dx',
      inputs: ['dy', 'w'],
      outputs: ['dx'],
      attributes: [
        { name: 'kernel_shape', type: 'ints', value: [kernelHeight, kernelWidth] },
        { name: 'strides', type: 'ints', value: [...stride] },
        { name: 'dilations', type: 'ints', value: [...dilation] },
        { name: 'pads', type: 'ints', value: onnxPads },
        { name: 'output_padding', type: 'ints', value: outputPadding },
        { name: 'group', type: 'int', value: groups },
      ],
    },
    constant('x_grouped_shape', [batch, groups, inChannelsPerGroup, inHeight, inWidth]),
    { opType: 'Reshape', name: 'x_grouped', inputs: ['x', 'x_grouped_shape'], outputs: ['x_grouped'] },
    { opType: 'Transpose', name: 'x_swapped', inputs: ['x_grouped'], outputs: ['x_swapped'], attributes: [{ name: 'perm', type: 'ints', value: [2, 1, 0, 3, 4] }] },
    constant('x_channels_shape', [inChannelsPerGroup, groups * batch, inHeight, inWidth]),
    { opType: 'Reshape', name: 'x_channels', inputs: ['x_swapped', 'x_channels_shape'], outputs: ['x_channels'] },
    { opType: 'Transpose', name: 'dy_filter', inputs: ['dy'], outputs: ['dy_filter'], attributes: [{ name: 'perm', type: 'ints', value: [1, 0, 2, 3] }] },
    {
      opType: 'Conv',
      name: 'dw_swapped',
      inputs: ['x_channels', 'dy_filter'],
      outputs: ['dw_swapped'],
      attributes: [
        { name: 'kernel_shape', type: 'ints', value: [outHeight, outWidth] },
        { name: 'strides', type: 'ints', value: [...dilation] },
        { name: 'dilations', type: 'ints', value: [...stride] },
        { name: 'pads', type: 'ints', value: onnxPads },
        { name: 'group', type: 'int', value: groups },
      ],
    },
    { opType: 'Transpose', name: 'dw_full', inputs: ['dw_swapped'], outputs: ['dw_full'], attributes: [{ name: 'perm', type: 'ints', value: [1, 0, 2, 3] }] },
    constant('dw_starts', [0, 0]),
    constant('dw_ends', [kernelHeight, kernelWidth]),
    constant('dw_axes', [2, 3]),
    { opType: 'Slice', name: 'dw', inputs: ['dw_full', 'dw_starts', 'dw_ends', 'dw_axes'], outputs: ['dw'] },
    constant('db_axes', [0, 2, 3]),
    { opType: 'ReduceSum', name: 'db', inputs: ['dy', 'db_axes'], outputs: ['db'], attributes: [{ name: 'keepdims', type: 'int', value: 0 }] },
  ];
  const elementType = ELEMENT_TYPE[computeDtype];
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET_VERSION,
    producerName: 'conv2d-backward-conformance',
    producerVersion: '1',
    graph: {
      name: 'conv2d_backward',
      nodes,
      inputs: [
        { name: 'x', elementType, shape: geometry.xShape },
        { name: 'w', elementType, shape: geometry.wShape },
        { name: 'dy', elementType, shape: geometry.dyShape },
      ],
      outputs: [
        { name: 'dx', elementType, shape: geometry.xShape },
        { name: 'dw', elementType, shape: geometry.wShape },
        { name: 'db', elementType, shape: geometry.dbShape },
      ],
    },
  });
}

/**
 * The ONNX model computing y = Conv(x, w) (no bias; output y) with the forward's kernel_shape,
 * strides, dilations, pads and group, in `computeDtype` throughout.
 */
export function buildConv2dForwardModel(geometry: Conv2dGeometry, params: Conv2dParams, computeDtype: OnnxComputeDtype): Uint8Array {
  const { stride, dilation, pads } = params;
  const elementType = ELEMENT_TYPE[computeDtype];
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET_VERSION,
    producerName: 'conv2d-backward-conformance',
    producerVersion: '1',
    graph: {
      name: 'conv2d_forward',
      nodes: [
        {
          opType: 'Conv',
          name: 'y',
          inputs: ['x', 'w'],
          outputs: ['y'],
          attributes: [
            { name: 'kernel_shape', type: 'ints', value: [geometry.kernelHeight, geometry.kernelWidth] },
            { name: 'strides', type: 'ints', value: [...stride] },
            { name: 'dilations', type: 'ints', value: [...dilation] },
            { name: 'pads', type: 'ints', value: [pads.top, pads.left, pads.bottom, pads.right] },
            { name: 'group', type: 'int', value: geometry.groups },
          ],
        },
      ],
      inputs: [
        { name: 'x', elementType, shape: geometry.xShape },
        { name: 'w', elementType, shape: geometry.wShape },
      ],
      outputs: [{ name: 'y', elementType, shape: geometry.dyShape }],
    },
  });
}

/** What one kernel event of an ORT profile says (the part the probe reads). */
export interface ProfiledNode {
  opName: string;
  inputTypes: string[];
}

/**
 * Build and run the float16 model of a small grouped, strided, dilated convolution
 * with profiling on, and read which kernels ran: native float16 only if no Cast was
 * inserted and Conv, ConvTranspose and ReduceSum all took float16 inputs.
 */
export async function probeNativeFloat16(ort?: OrtModule): Promise<{ native: boolean; kernels: ProfiledNode[] }> {
  const { InferenceSession, Tensor: OrtTensor } = ort ?? (await loadOnnxruntime());
  const params: Conv2dParams = { stride: [2, 1], dilation: [1, 2], pads: { top: 1, bottom: 0, left: 0, right: 1 }, groups: 2 };
  const geometry = conv2dBackwardGeometry([1, 2, 4, 4], [2, 1, 2, 2], [1, 2, 2, 3], params);
  const directory = await mkdtemp(join(tmpdir(), 'onnxruntime-backend-probe-'));
  try {
    try {
      const session = await InferenceSession.create(buildConv2dBackwardModel(geometry, params, 'float16'), {
        ...SESSION_OPTIONS,
        enableProfiling: true,
        profileFilePrefix: join(directory, 'profile'),
      });
      try {
        // 0x3c00 is 1.0 in binary16.
        const ones = (shape: number[]) => new OrtTensor('float16', new Uint16Array(shapeSize(shape)).fill(0x3c00), shape);
        await session.run({ x: ones(geometry.xShape), w: ones(geometry.wShape), dy: ones(geometry.dyShape) });
        session.endProfiling();
      } finally {
        await session.release();
      }
    } catch (error) {
      throw new ConformanceError('E_WITNESS', `onnxruntime-node float16 probe: the profiled float16 session failed: ${(error as Error).message}`, {}, { cause: error });
    }
    const files = (await readdir(directory)).filter((name) => name.endsWith('.json'));
    if (files.length !== 1) {
      throw new ConformanceError('E_WITNESS', `onnxruntime-node float16 probe: expected one profile file in ${directory}, found ${describeValue(files)}`, { files });
    }
    const events = JSON.parse(await readFile(join(directory, files[0]), 'utf8')) as unknown;
    const kernels = readKernelEvents(events, files[0]);
    const inserted = kernels.some((kernel) => kernel.opName === 'Cast');
    const arithmetic = kernels.filter((kernel) => ARITHMETIC_OPS.includes(kernel.opName));
    const covered = ARITHMETIC_OPS.every((op) => arithmetic.some((kernel) => kernel.opName === op));
    if (!covered) {
      throw new ConformanceError('E_WITNESS', `onnxruntime-node float16 probe: the profile ${files[0]} lacks a kernel event for one of ${ARITHMETIC_OPS.join(', ')}`, {
        kernels,
      });
    }
    const native = !inserted && arithmetic.every((kernel) => kernel.inputTypes[0] === 'float16');
    return { native, kernels };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function readKernelEvents(events: unknown, file: string): ProfiledNode[] {
  if (!Array.isArray(events)) {
    throw new ConformanceError('E_WITNESS', `onnxruntime-node profile ${file}: expected a JSON array of events, found ${describeValue(events)}`);
  }
  const kernels: ProfiledNode[] = [];
  for (const event of events as Array<Record<string, unknown>>) {
    if (event?.cat !== 'Node' || typeof event.name !== 'string' || !event.name.endsWith('_kernel_time')) continue;
    const args = event.args as { op_name?: unknown; input_type_shape?: unknown } | undefined;
    if (typeof args?.op_name !== 'string' || !Array.isArray(args.input_type_shape)) {
      throw new ConformanceError('E_WITNESS', `onnxruntime-node profile ${file}: kernel event ${event.name} lacks args.op_name or args.input_type_shape`, { event });
    }
    const inputTypes = (args.input_type_shape as Array<Record<string, unknown>>).map((entry) => Object.keys(entry)[0] ?? '');
    kernels.push({ opName: args.op_name, inputTypes });
  }
  return kernels;
}

interface CachedSession {
  session: InferenceSession;
  computeDtype: OnnxComputeDtype;
}

export class OnnxruntimeBackend implements Backend {
  readonly name = 'onnxruntime-node';
  readonly version: string = readPackageVersion();
  readonly dtypes = ONNXRUNTIME_DTYPES;
  private readonly sessions = new Map<string, Promise<CachedSession>>();
  private float16Native: Promise<boolean> | undefined;

  /** Use createOnnxruntimeBackend(), which loads the package first. */
  constructor(private readonly ort: OrtModule) {}

  /** Number of models built and cached so far. */
  get cachedSessionCount(): number {
    return this.sessions.size;
  }

  /** Whether float16 inputs are computed in float16 (native kernels) or in float32 (see the module comment). */
  async float16ComputeDtype(): Promise<OnnxComputeDtype> {
    this.float16Native ??= probeNativeFloat16(this.ort).then(
      (probe) => probe.native,
      (error: unknown) => {
        this.float16Native = undefined; // a later call probes again
        throw error;
      },
    );
    return (await this.float16Native) ? 'float16' : 'float32';
  }

  async compute(request: BackendRequest): Promise<BackendResult> {
    const geometry = conv2dBackwardGeometry(request.x.shape, request.w.shape, request.dy.shape, request.params);
    const dtype = requireInputs(request);
    const computeDtype: OnnxComputeDtype = dtype === 'float16' ? await this.float16ComputeDtype() : 'float32';
    const { session } = await this.session('conv2d_backward', geometry, request.params, computeDtype);
    const feeds = {
      x: toOrtTensor(this.ort, request.x, 'x', computeDtype),
      w: toOrtTensor(this.ort, request.w, 'w', computeDtype),
      dy: toOrtTensor(this.ort, request.dy, 'dy', computeDtype),
    };
    const outputs = await session.run(feeds);
    return {
      dx: fromOrtTensor(outputs.dx, 'dx', geometry.xShape),
      dw: fromOrtTensor(outputs.dw, 'dw', geometry.wShape),
      db: fromOrtTensor(outputs.db, 'db', geometry.dbShape),
      computeDtype,
    };
  }

  /** y = Conv(x, w) in the precision compute() would use for these inputs (float16 natively only with native kernels). */
  async forward(request: BackendForwardRequest): Promise<BackendForwardResult> {
    const geometry = conv2dGeometry(request.x.shape, request.w.shape, request.params);
    const dtype = requireInputs({ x: request.x, w: request.w });
    const computeDtype: OnnxComputeDtype = dtype === 'float16' ? await this.float16ComputeDtype() : 'float32';
    const { session } = await this.session('conv2d_forward', geometry, request.params, computeDtype);
    const outputs = await session.run({ x: toOrtTensor(this.ort, request.x, 'x', computeDtype), w: toOrtTensor(this.ort, request.w, 'w', computeDtype) });
    return { y: fromOrtTensor(outputs.y, 'y', geometry.dyShape), computeDtype };
  }

  private session(op: 'conv2d_backward' | 'conv2d_forward', geometry: Conv2dGeometry, params: Conv2dParams, computeDtype: OnnxComputeDtype): Promise<CachedSession> {
    const { stride, dilation, pads, groups } = params;
    const key = JSON.stringify({
      op,
      computeDtype,
      x: geometry.xShape,
      w: geometry.wShape,
      stride,
      dilation,
      pads: [pads.top, pads.bottom, pads.left, pads.right],
      groups,
    });
    let cached = this.sessions.get(key);
    if (cached === undefined) {
      const model = op === 'conv2d_forward' ? buildConv2dForwardModel(geometry, params, computeDtype) : buildConv2dBackwardModel(geometry, params, computeDtype);
      cached = this.ort.InferenceSession.create(model, SESSION_OPTIONS).then(
        (session) => ({ session, computeDtype }),
        (error: unknown) => {
          this.sessions.delete(key);
          throw new ConformanceError('E_WITNESS', `onnxruntime-node: could not create a session for ${key}: ${(error as Error).message}`, { key }, { cause: error });
        },
      );
      this.sessions.set(key, cached);
    }
    return cached;
  }

  async dispose(): Promise<void> {
    const pending = [...this.sessions.values()];
    this.sessions.clear();
    for (const settled of await Promise.allSettled(pending)) {
      if (settled.status === 'fulfilled') await settled.value.session.release();
    }
  }
}

/** onnxruntime-node loaded (E_BACKEND_MISSING when it is not installed) and a backend on it. */
export async function createOnnxruntimeBackend(): Promise<OnnxruntimeBackend> {
  return new OnnxruntimeBackend(await loadOnnxruntime());
}

/** Check the request's tensors at the backend boundary (dy absent for the forward); returns their common dtype. */
function requireInputs(request: Pick<BackendRequest, 'x' | 'w'> & { dy?: Tensor }): Dtype {
  const dtype = request.x.dtype;
  const named: Array<readonly [string, Tensor]> = [
    ['x', request.x],
    ['w', request.w],
  ];
  if (request.dy !== undefined) named.push(['dy', request.dy]);
  for (const [name, tensor] of named) {
    if (tensor.dtype !== dtype) {
      throw new ConformanceError('E_WITNESS', `onnxruntime-node backend: ${name} is ${describeValue(tensor.dtype)} but x is ${dtype}; expected one dtype for x, w, dy`, {
        name,
      });
    }
    const arrayType = expectedArrayType(dtype);
    if (Object.prototype.toString.call(tensor.data) !== `[object ${arrayType}]`) {
      throw new ConformanceError(
        'E_WITNESS',
        `onnxruntime-node backend: ${name} (${dtype}) expected ${arrayType} data, found ${Object.prototype.toString.call(tensor.data)}`,
        { name },
      );
    }
    if (tensor.data.length !== shapeSize(tensor.shape)) {
      throw new ConformanceError(
        'E_WITNESS',
        `onnxruntime-node backend: ${name} shape [${tensor.shape.join(', ')}] needs ${shapeSize(tensor.shape)} elements, found ${tensor.data.length}`,
        { name },
      );
    }
  }
  return dtype;
}

/** The input as an ORT tensor in the compute dtype; float64 values must be float32 values. */
function toOrtTensor(ort: OrtModule, tensor: Tensor, name: string, computeDtype: OnnxComputeDtype): OrtTensor {
  const OrtTensor = ort.Tensor;
  if (computeDtype === 'float16') return new OrtTensor('float16', tensor.data as Uint16Array, tensor.shape);
  if (tensor.dtype === 'float32') return new OrtTensor('float32', tensor.data as Float32Array, tensor.shape);
  if (isBits16(tensor.dtype)) {
    // Every binary16 and every bfloat16 value is a float32 value: the conversion is exact.
    const bits = tensor.data as Uint16Array;
    const values = new Float32Array(bits.length);
    for (let index = 0; index < bits.length; index++) values[index] = bitsToFloat64(bits[index], tensor.dtype);
    return new OrtTensor('float32', values, tensor.shape);
  }
  const values = tensor.data as Float64Array;
  const narrowed = Float32Array.from(values);
  for (let index = 0; index < values.length; index++) {
    if (narrowed[index] !== values[index] && !Number.isNaN(values[index])) {
      throw new ConformanceError(
        'E_WITNESS',
        `onnxruntime-node backend: float64 input ${name}[${index}] = ${values[index]} is not exactly representable in float32 ` +
          `(nearest float32 ${narrowed[index]}); this backend computes float64 fixtures in float32 and needs float32-representable inputs`,
        { name, index, value: values[index] },
      );
    }
  }
  return new OrtTensor('float32', narrowed, tensor.shape);
}

/** An ORT output decoded to float64 after checking its shape. */
function fromOrtTensor(tensor: OrtTensor | undefined, name: string, shape: number[]): Float64Array {
  if (tensor === undefined) {
    throw new ConformanceError('E_WITNESS', `onnxruntime-node backend: the session returned no output ${name}`, { name });
  }
  const dims = [...tensor.dims];
  if (dims.length !== shape.length || dims.some((size, axis) => size !== shape[axis])) {
    throw new ConformanceError('E_WITNESS', `onnxruntime-node backend: output ${name} has shape [${dims.join(', ')}], expected [${shape.join(', ')}]`, {
      name,
      dims,
      shape,
    });
  }
  if (tensor.type === 'float16' && tensor.data instanceof Uint16Array) return toFloat64Array(tensor.data, 'float16');
  if (tensor.type === 'float16' || tensor.type === 'float32') return Float64Array.from(tensor.data as ArrayLike<number>);
  throw new ConformanceError('E_WITNESS', `onnxruntime-node backend: output ${name} has element type ${tensor.type}, expected float32 or float16`, { name });
}
