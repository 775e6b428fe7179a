/// <reference types="@webgpu/types" />
/**
 * The harness page's script (bundled by esbuild and served as /harness.js by
 * ../browser-host.ts). It loads the adapter bundle (/adapter.js), checks it with
 * the same code as the Node hosts (inspectAdapterModule, checkBackwardResult),
 * calls init(), and then answers the host's calls one at a time:
 * window.conformanceHarness.run(job) fetches the job's tensors as raw bytes,
 * calls conv2dBackward on fresh typed arrays, checks the result and posts the
 * outputs' bytes back. It also watches every WebGPU device the adapter requests,
 * so that a lost device is named in the error, and reports uncaught errors and
 * unhandled rejections to the host (which then discards the page).
 */
import { ConformanceError } from '../../../src/errors.js';
import type { Adapter, BackwardRequest, Dtype, FixtureMeta, ForwardRequest, OutputName, Tensor, TensorData } from '../../../src/types.js';
import { OUTPUT_NAMES } from '../../../src/types.js';
import { answerSupports, describeThrown } from '../adapter-calls.js';
import { inspectAdapterModule } from '../capabilities.js';
import { checkBackwardResult, checkForwardResult } from '../result-check.js';
import { FATAL_BINDING, HARNESS_GLOBAL, type BrowserJob, type ForwardAnswer, type ForwardJob, type HarnessApi, type LoadAnswer, type LostDevice, type RunAnswer, type SupportsPageAnswer, type WireTensorSpec } from './wire.js';

const ADAPTER_URL = '/adapter.js';

let adapter: Adapter | undefined;
/** Devices lost since the last call started. */
let lostDevices: LostDevice[] = [];
let gpuDescription: string | null = null;

function reportFatal(message: string, stack?: string): void {
  const binding = (window as unknown as Record<string, ((message: string, stack?: string) => void) | undefined>)[FATAL_BINDING];
  binding?.(message, stack);
}

// preventDefault: the harness reports these itself (with their kind), so the browser does not report them again.
window.addEventListener('error', (event) => {
  event.preventDefault();
  const { message, stack } = describeThrown(event.error ?? event.message);
  reportFatal(`uncaught exception in the page: ${message}`, stack);
});
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  const { message, stack } = describeThrown(event.reason);
  reportFatal(`unhandled promise rejection in the page: ${message}`, stack);
});

// Like process.exit in a Node adapter: closing the page is never an answer. (Chromium also refuses
// window.close() on a page that script did not open; the host still watches for the page's end.)
window.close = () => reportFatal('the adapter called window.close()');

/** Watch the devices the adapter requests: a lost device is recorded for the call in progress. */
function watchDevices(): void {
  if (typeof GPUAdapter === 'undefined') return;
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor): Promise<GPUDevice> {
    const device = await requestDevice.call(this, descriptor);
    const info = this.info;
    gpuDescription = info === undefined ? null : `${info.vendor || 'unknown vendor'} ${info.architecture || ''}`.trim();
    void device.lost.then((lost) => {
      lostDevices.push({ reason: String(lost.reason), message: lost.message });
    });
    return device;
  };
}

function arrayFor(dtype: Dtype, buffer: ArrayBuffer): TensorData {
  if (dtype === 'float64') return new Float64Array(buffer);
  if (dtype === 'float32') return new Float32Array(buffer);
  return new Uint16Array(buffer);
}

/** Split the fetched bytes into x, w, dy, each a typed array over a buffer of its own. */
function inputTensors(job: BrowserJob, bytes: ArrayBuffer): { x: Tensor; w: Tensor; dy: Tensor } {
  let offset = 0;
  const take = (spec: WireTensorSpec): Tensor => {
    const own = bytes.slice(offset, offset + spec.byteLength);
    offset += spec.byteLength;
    return { dtype: spec.dtype, shape: [...spec.shape], data: arrayFor(spec.dtype, own) };
  };
  const x = take(job.x);
  const w = take(job.w);
  const dy = take(job.dy);
  if (offset !== bytes.byteLength) throw new Error(`the host sent ${bytes.byteLength} bytes of inputs, expected ${offset}`);
  return { x, w, dy };
}

function sameBytes(a: TensorData, b: TensorData): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const left = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const right = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

async function load(): Promise<LoadAnswer> {
  watchDevices();
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(/* @vite-ignore */ ADAPTER_URL)) as Record<string, unknown>;
  } catch (error) {
    const { message, stack } = describeThrown(error);
    return { kind: 'load-error', message: `importing the adapter bundle failed: ${message}`, stack };
  }
  let inspected: ReturnType<typeof inspectAdapterModule>;
  try {
    inspected = inspectAdapterModule(namespace, 'in the page');
  } catch (error) {
    return { kind: 'load-error', message: describeThrown(error).message };
  }
  try {
    await inspected.adapter.init?.();
  } catch (error) {
    const { message, stack } = describeThrown(error);
    return { kind: 'load-error', message: `init() threw: ${message}`, stack };
  }
  adapter = inspected.adapter;
  return { kind: 'ready', declared: { ...inspected.capabilities }, gpu: gpuDescription };
}

function supports(meta: FixtureMeta): Promise<SupportsPageAnswer> {
  return answerSupports(adapter, meta);
}

/** Let a device's `lost` promise settle before the error is reported (it resolves in a task of its own). */
function settleTasks(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

async function run(job: BrowserJob): Promise<RunAnswer> {
  const current = adapter;
  if (current === undefined) return { kind: 'error', message: 'the adapter is not loaded in this page', seconds: 0, lostDevices: [] };
  lostDevices = [];
  const response = await fetch(`/job/${job.token}/inputs`);
  if (!response.ok) return { kind: 'error', message: `the page could not fetch the fixture's tensors: HTTP ${response.status}`, seconds: 0, lostDevices: [] };
  const bytes = await response.arrayBuffer();
  const inputs = inputTensors(job, bytes);
  const before = { x: inputs.x.data.slice(), w: inputs.w.data.slice(), dy: inputs.dy.data.slice() };
  const request: BackwardRequest = { ...inputs, params: job.params, id: job.id };
  const start = performance.now();
  let result: unknown;
  try {
    result = await current.conv2dBackward(request);
  } catch (error) {
    const seconds = (performance.now() - start) / 1000;
    await settleTasks();
    const { message, stack } = describeThrown(error);
    return { kind: 'error', message: `conv2dBackward threw: ${message}`, stack, seconds, lostDevices };
  }
  const seconds = (performance.now() - start) / 1000;
  const notes: string[] = [];
  for (const name of ['x', 'w', 'dy'] as const) {
    if (!sameBytes(before[name], inputs[name].data)) {
      notes.push(`the adapter wrote into its input ${name} (it got a fresh copy, so scoring is unaffected; callers may not expect inputs to change)`);
    }
  }
  let checked: ReturnType<typeof checkBackwardResult>;
  try {
    checked = checkBackwardResult(result, job.expected);
  } catch (error) {
    const { message, stack } = describeThrown(error);
    return { kind: 'error', message, stack: error instanceof ConformanceError ? undefined : stack, seconds, lostDevices };
  }
  const parts: Uint8Array[] = [];
  const outputs: Partial<Record<OutputName, WireTensorSpec>> = {};
  for (const name of OUTPUT_NAMES) {
    const tensor = checked.outputs[name];
    if (tensor === undefined) continue;
    const { data } = tensor;
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    outputs[name] = { dtype: tensor.dtype, shape: [...tensor.shape], byteLength: data.byteLength };
  }
  const posted = await fetch(`/job/${job.token}/outputs`, { method: 'POST', body: new Blob(parts as BlobPart[]) });
  if (!posted.ok) return { kind: 'error', message: `the page could not post the outputs: HTTP ${posted.status}`, seconds, lostDevices };
  return { kind: 'ok', outputs, seconds, notes: [...notes, ...checked.notes] };
}

/** The optional conv2dForward, called like conv2dBackward: fresh inputs fetched, the result checked, y's bytes posted. */
async function forward(job: ForwardJob): Promise<ForwardAnswer> {
  const current = adapter;
  if (current?.conv2dForward === undefined) return { kind: 'error', message: 'the adapter has no conv2dForward in this page', seconds: 0, lostDevices: [] };
  lostDevices = [];
  const response = await fetch(`/job/${job.token}/inputs`);
  if (!response.ok) return { kind: 'error', message: `the page could not fetch the forward's tensors: HTTP ${response.status}`, seconds: 0, lostDevices: [] };
  const bytes = await response.arrayBuffer();
  let offset = 0;
  const take = (spec: WireTensorSpec): Tensor => {
    const own = bytes.slice(offset, offset + spec.byteLength);
    offset += spec.byteLength;
    return { dtype: spec.dtype, shape: [...spec.shape], data: arrayFor(spec.dtype, own) };
  };
  const request: ForwardRequest = { x: take(job.x), w: take(job.w), ...(job.b !== undefined ? { b: take(job.b) } : {}), params: job.params, id: job.id };
  const start = performance.now();
  let result: unknown;
  try {
    result = await current.conv2dForward(request);
  } catch (error) {
    const seconds = (performance.now() - start) / 1000;
    await settleTasks();
    const { message, stack } = describeThrown(error);
    return { kind: 'error', message: `conv2dForward threw: ${message}`, stack, seconds, lostDevices };
  }
  const seconds = (performance.now() - start) / 1000;
  let y: Tensor;
  try {
    y = checkForwardResult(result, job.expected);
  } catch (error) {
    const { message, stack } = describeThrown(error);
    return { kind: 'error', message, stack: error instanceof ConformanceError ? undefined : stack, seconds, lostDevices };
  }
  const posted = await fetch(`/job/${job.token}/outputs`, { method: 'POST', body: new Blob([new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength)] as BlobPart[]) });
  if (!posted.ok) return { kind: 'error', message: `the page could not post y: HTTP ${posted.status}`, seconds, lostDevices };
  return { kind: 'ok', y: { dtype: y.dtype, shape: [...y.shape], byteLength: y.data.byteLength }, seconds };
}

async function dispose(): Promise<void> {
  await adapter?.dispose?.();
}

const api: HarnessApi = { load, supports, run, forward, dispose };
(window as unknown as Record<string, HarnessApi>)[HARNESS_GLOBAL] = api;
