/// <reference types="@webgpu/types" />
/**
 * wgsl-gather: our own WebGPU kernels for Conv2d backward, scored in headless
 * Chromium by the `browser:` host (`--impl browser:dist/conformance/adapters/browser/wgsl-gather.js`).
 *
 * Three readable WGSL compute shaders, float32, NCHW activations and OIHW filters,
 * one invocation per output element in gather form (each invocation reads what
 * its element needs and writes only that element: no atomics, no scatter):
 *
 *   dx[n, c, ih, iw] = sum over o in the group of c, kh, kw with
 *                      oh = (ih + padTop - kh*dH) / sH and ow = (iw + padLeft - kw*dW) / sW
 *                      whole numbers inside [0, OH) x [0, OW) of  w[o, c mod Cg, kh, kw] * dy[n, o, oh, ow]
 *   dw[o, i, kh, kw] = sum over n, oh, ow with ih = oh*sH + kh*dH - padTop and
 *                      iw = ow*sW + kw*dW - padLeft inside the input of  x[n, g*Cg + i, ih, iw] * dy[n, o, oh, ow]
 *                      (g = o / (Cout/G), Cg = C/G)
 *   db[o]            = sum over n, oh, ow of dy[n, o, oh, ow]
 *
 * Taps that fall in the padding or between strides are skipped, never multiplied
 * by zero (0 * Inf would be NaN). Every product is an f32 multiply and every sum an
 * f32 add, in a fixed order.
 */
import type { Adapter, BackwardRequest, BackwardResult, Conv2dParams } from '../../../src/types.js';

/** Invocations per workgroup (a 1-D workgroup; 64 is what WebGPU guarantees and a common good size). */
const WORKGROUP_SIZE = 64;

/**
 * The geometry every shader reads, as one uniform struct of u32/i32 fields
 * (names as in src/geometry.ts). Kept in the order of PARAMS_FIELDS below.
 */
const PARAMS_STRUCT = /* wgsl */ `
struct Params {
  batch: i32, inChannels: i32, inHeight: i32, inWidth: i32,
  outChannels: i32, kernelHeight: i32, kernelWidth: i32, outHeight: i32,
  outWidth: i32, strideH: i32, strideW: i32, dilationH: i32,
  dilationW: i32, padTop: i32, padLeft: i32, groups: i32,
  inChannelsPerGroup: i32, outChannelsPerGroup: i32, elementCount: i32, pad0: i32,
}
@group(0) @binding(0) var<uniform> p: Params;
`;

/** The flat index of this invocation (2-D dispatch when one dimension cannot hold all workgroups). */
const INDEX_FN = /* wgsl */ `
fn flatIndex(id: vec3<u32>, groupsX: u32) -> i32 {
  return i32(id.y * groupsX * ${WORKGROUP_SIZE}u + id.x);
}
`;

const DX_SHADER = /* wgsl */ `${PARAMS_STRUCT}${INDEX_FN}
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) count: vec3<u32>) {
  let index = flatIndex(id, count.x);
  if (index >= p.elementCount) { return; }
  // index = ((n * C + c) * H + ih) * W + iw
  let iw = index % p.inWidth;
  let ih = (index / p.inWidth) % p.inHeight;
  let c = (index / (p.inWidth * p.inHeight)) % p.inChannels;
  let n = index / (p.inWidth * p.inHeight * p.inChannels);
  let group = c / p.inChannelsPerGroup;
  let i = c % p.inChannelsPerGroup;
  var sum: f32 = 0.0;
  for (var oInGroup = 0; oInGroup < p.outChannelsPerGroup; oInGroup++) {
    let o = group * p.outChannelsPerGroup + oInGroup;
    for (var kh = 0; kh < p.kernelHeight; kh++) {
      let rowOffset = ih + p.padTop - kh * p.dilationH;
      if (rowOffset < 0 || rowOffset % p.strideH != 0) { continue; }
      let oh = rowOffset / p.strideH;
      if (oh >= p.outHeight) { continue; }
      for (var kw = 0; kw < p.kernelWidth; kw++) {
        let colOffset = iw + p.padLeft - kw * p.dilationW;
        if (colOffset < 0 || colOffset % p.strideW != 0) { continue; }
        let ow = colOffset / p.strideW;
        if (ow >= p.outWidth) { continue; }
        let wValue = w[((o * p.inChannelsPerGroup + i) * p.kernelHeight + kh) * p.kernelWidth + kw];
        let dyValue = dy[((n * p.outChannels + o) * p.outHeight + oh) * p.outWidth + ow];
        sum = sum + wValue * dyValue;
      }
    }
  }
  dx[index] = sum;
}
`;

const DW_SHADER = /* wgsl */ `${PARAMS_STRUCT}${INDEX_FN}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) count: vec3<u32>) {
  let index = flatIndex(id, count.x);
  if (index >= p.elementCount) { return; }
  // index = ((o * Cg + i) * KH + kh) * KW + kw
  let kw = index % p.kernelWidth;
  let kh = (index / p.kernelWidth) % p.kernelHeight;
  let i = (index / (p.kernelWidth * p.kernelHeight)) % p.inChannelsPerGroup;
  let o = index / (p.kernelWidth * p.kernelHeight * p.inChannelsPerGroup);
  let c = (o / p.outChannelsPerGroup) * p.inChannelsPerGroup + i;
  var sum: f32 = 0.0;
  for (var n = 0; n < p.batch; n++) {
    for (var oh = 0; oh < p.outHeight; oh++) {
      let ih = oh * p.strideH + kh * p.dilationH - p.padTop;
      if (ih < 0 || ih >= p.inHeight) { continue; }
      for (var ow = 0; ow < p.outWidth; ow++) {
        let iw = ow * p.strideW + kw * p.dilationW - p.padLeft;
        if (iw < 0 || iw >= p.inWidth) { continue; }
        let xValue = x[((n * p.inChannels + c) * p.inHeight + ih) * p.inWidth + iw];
        let dyValue = dy[((n * p.outChannels + o) * p.outHeight + oh) * p.outWidth + ow];
        sum = sum + xValue * dyValue;
      }
    }
  }
  dw[index] = sum;
}
`;

const DB_SHADER = /* wgsl */ `${PARAMS_STRUCT}${INDEX_FN}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) count: vec3<u32>) {
  let o = flatIndex(id, count.x);
  if (o >= p.elementCount) { return; }
  var sum: f32 = 0.0;
  for (var n = 0; n < p.batch; n++) {
    for (var oh = 0; oh < p.outHeight; oh++) {
      for (var ow = 0; ow < p.outWidth; ow++) {
        sum = sum + dy[((n * p.outChannels + o) * p.outHeight + oh) * p.outWidth + ow];
      }
    }
  }
  db[o] = sum;
}
`;

const PARAMS_FIELDS = 20;
/** WebGPU's default limit of workgroups per dispatch dimension. */
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

type Output = 'dx' | 'dw' | 'db';

interface Kernels {
  device: GPUDevice;
  pipelines: Record<Output, GPUComputePipeline>;
}

let kernels: Kernels | null = null;

async function createKernels(): Promise<Kernels> {
  if (typeof navigator === 'undefined' || navigator.gpu === undefined) {
    throw new Error('WebGPU is not available in this browser (navigator.gpu is undefined): start Chromium with --enable-unsafe-webgpu');
  }
  const gpuAdapter = await navigator.gpu.requestAdapter();
  if (gpuAdapter === null) throw new Error('navigator.gpu.requestAdapter() returned null: no WebGPU adapter (for SwiftShader: --use-webgpu-adapter=swiftshader)');
  const device = await gpuAdapter.requestDevice();
  device.pushErrorScope('validation');
  const pipeline = (code: string, label: string): GPUComputePipeline =>
    device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' } });
  const pipelines = { dx: pipeline(DX_SHADER, 'dx'), dw: pipeline(DW_SHADER, 'dw'), db: pipeline(DB_SHADER, 'db') };
  const error = await device.popErrorScope();
  if (error !== null) throw new Error(`WGSL shaders did not compile: ${error.message}`);
  return { device, pipelines };
}

/** A storage buffer holding `data` (at least 4 bytes: WebGPU has no empty bindings). */
function storageBuffer(device: GPUDevice, data: Float32Array | Int32Array, usage: number): GPUBuffer {
  const buffer = device.createBuffer({ size: Math.max(4, data.byteLength), usage: usage | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

function paramsFor(request: BackwardRequest): Int32Array {
  const [batch, inChannels, inHeight, inWidth] = request.x.shape;
  const [outChannels, inChannelsPerGroup, kernelHeight, kernelWidth] = request.w.shape;
  const [, , outHeight, outWidth] = request.dy.shape;
  const { stride, dilation, pads, groups }: Conv2dParams = request.params;
  return Int32Array.from([
    batch, inChannels, inHeight, inWidth,
    outChannels, kernelHeight, kernelWidth, outHeight,
    outWidth, stride[0], stride[1], dilation[0],
    dilation[1], pads.top, pads.left, groups,
    inChannelsPerGroup, outChannels / groups, 0, 0,
  ]);
}

/** Run one shader over `elementCount` outputs; returns the output's values. */
async function runKernel(current: Kernels, output: Output, params: Int32Array, inputs: Float32Array[], elementCount: number): Promise<Float32Array> {
  const { device } = current;
  const pipeline = current.pipelines[output];
  const ownParams = params.slice();
  ownParams[PARAMS_FIELDS - 2] = elementCount;
  const uniform = storageBuffer(device, ownParams, GPUBufferUsage.UNIFORM);
  const sources = inputs.map((data) => storageBuffer(device, data, GPUBufferUsage.STORAGE));
  const byteLength = Math.max(4, elementCount * 4);
  const result = device.createBuffer({ size: byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: byteLength, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const buffers = [uniform, ...sources, result, readback];
  try {
    device.pushErrorScope('validation');
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [uniform, ...sources, result].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const workgroups = Math.ceil(elementCount / WORKGROUP_SIZE);
    const groupsX = Math.min(workgroups, MAX_WORKGROUPS_PER_DIMENSION);
    const groupsY = Math.ceil(workgroups / groupsX);
    const encoder = device.createCommandEncoder();
    if (elementCount > 0) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groupsX, groupsY);
      pass.end();
    }
    encoder.copyBufferToBuffer(result, 0, readback, 0, byteLength);
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error !== null) throw new Error(`${output} kernel: WebGPU validation error: ${error.message}`);
    await readback.mapAsync(GPUMapMode.READ);
    return new Float32Array(readback.getMappedRange().slice(0, elementCount * 4));
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

const adapter: Adapter = {
  name: 'wgsl-gather',
  layout: 'NCHW',
  filterLayout: 'OIHW',
  dtypes: ['float32'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],

  async init() {
    kernels = await createKernels();
  },

  dispose() {
    kernels?.device.destroy();
    kernels = null;
  },

  async conv2dBackward(request: BackwardRequest): Promise<BackwardResult> {
    kernels ??= await createKernels();
    const params = paramsFor(request);
    const x = request.x.data as Float32Array;
    const w = request.w.data as Float32Array;
    const dy = request.dy.data as Float32Array;
    const outChannels = request.w.shape[0];
    const [dx, dw, db] = await Promise.all([
      runKernel(kernels, 'dx', params, [w, dy], x.length),
      runKernel(kernels, 'dw', params, [x, dy], w.length),
      runKernel(kernels, 'db', params, [dy], outChannels),
    ]);
    return {
      dx: { dtype: 'float32', shape: [...request.x.shape], data: dx },
      dw: { dtype: 'float32', shape: [...request.w.shape], data: dw },
      db: { dtype: 'float32', shape: [outChannels], data: db },
    };
  },
};

export default adapter;
