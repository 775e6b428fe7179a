/**
 * What the runner asks of an adapter's optional forward, after its backward on a fixture
 * (corpus or fuzz case):
 *
 * - y: when the fixture has an expected forward (corpus 1.2.0, fuzz cases), one call
 *   conv2dForward({ x, w, params }) with b absent; y is scored like a gradient (score.ts).
 * - --gradcheck: the backward checked against the adapter's own forward (src/gradcheck.ts):
 *   one forward with a nonzero seeded bias b, the adjoint identities
 *   <y,dy> = <x,dx> + <b,db> and <y,dy> = <w,dw> + <b,db>, and central differences at
 *   GRADCHECK_SAMPLES seeded elements of x and of w (two forward calls each). Cost per
 *   fixture: 1 + 4 * GRADCHECK_SAMPLES forward calls (13), plus one backward in float64
 *   when the check runs in float64 and the fixture is in another dtype.
 *
 * The check runs in float64 when the adapter declares float64 (the fixture's x, w, dy
 * widened exactly), else in the fixture's dtype, where the steps are rounded to the dtype
 * and the bounds are the dtype's (the method string of the summary states which).
 */
import { fromFloat64Array, toFloat64Array } from '../src/dtype.js';
import { differenceStep, adjointChecks, differenceChecks, type GradcheckOutcome, type GradcheckTensors, type ForwardCall } from '../src/gradcheck.js';
import { forwardBoundProblem } from '../src/forward-expected.js';
import { sha256Hex } from '../src/hash.js';
import { Prng } from '../src/prng.js';
import type { AdapterCapabilities, Dtype, FixtureMeta, Float64Tensor, GradcheckSummary, OutputName, Tensor } from '../src/types.js';
import type { AdapterHost, HostForwardRequest, HostForwardResponse, HostResponse } from './host/adapter-host.js';
import type { ExpectedOutputs } from './host/result-check.js';
import { adapterShape, fromAdapterLayout, layoutLabel, toAdapterLayout, type AdapterLayouts } from './layout.js';
import type { ReadyFixture } from './run.js';

/** Elements of x, and of w, at which a central difference is taken. */
export const GRADCHECK_SAMPLES = 3;

export interface ForwardStageOptions {
  /** --gradcheck. */
  gradcheck: boolean;
}

/** The forward's part of a fixture's outcome. */
export type ForwardStage =
  | {
      kind: 'done';
      /** The adapter's y for b absent, in the corpus layout (when the fixture has an expected forward and y has a bound). */
      y?: Tensor;
      gradcheck?: GradcheckSummary;
      adapterSeconds: number;
      notes: string[];
    }
  | { kind: 'error'; message: string; detail?: string; adapterSeconds: number }
  | { kind: 'timeout'; adapterSeconds: number };

/** A forward call that did not answer with a y: it ends the stage as an error or timeout outcome. */
class ForwardFailure extends Error {
  constructor(readonly response: Exclude<HostForwardResponse, { kind: 'ok' }>) {
    super(response.kind === 'error' ? response.message : 'timeout');
  }
}

function float64Of(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: [...tensor.shape], data: toFloat64Array(tensor.data, tensor.dtype) };
}

function inDtype(tensor: Float64Tensor, dtype: Dtype): Tensor {
  return { dtype, shape: [...tensor.shape], data: fromFloat64Array(tensor.data, dtype) };
}

/**
 * The seed of one fixture's bias and samples, from its data seed and shapes only: the same
 * for a corpus fixture on every run, and for a fuzz case replayed with --fuzz-replay.
 */
function fixtureSeed(meta: FixtureMeta): number {
  return Number.parseInt(sha256Hex(`gradcheck ${meta.seed} x ${meta.shapes.x.join('x')} w ${meta.shapes.w.join('x')}`).slice(0, 8), 16) >>> 0;
}

/** A nonzero bias per output channel: k/8 with k in ±1..±8, exact in every dtype. */
function seededBias(prng: Prng, outChannels: number): Float64Tensor {
  const data = new Float64Array(outChannels);
  for (let channel = 0; channel < outChannels; channel++) {
    const k = prng.integer(1, 8);
    data[channel] = (prng.nextFloat() < 0.5 ? -k : k) / 8;
  }
  return { dtype: 'float64', shape: [outChannels], data };
}

/** `count` distinct flat indices of a tensor of `size` elements (all of them when it is smaller). */
function sampleIndices(prng: Prng, size: number, count: number): number[] {
  if (size <= count) return Array.from({ length: size }, (_, index) => index);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(prng.integer(0, size - 1));
  return [...chosen].sort((a, b) => a - b);
}

function gradcheckStatus(checks: readonly GradcheckOutcome[]): GradcheckSummary['status'] {
  if (checks.some((check) => check.status === 'fail')) return 'fail';
  return checks.some((check) => check.status === 'pass') ? 'pass' : 'skipped';
}

/** A forward request for a fixture, in the adapter's layouts; y is shaped like dy. */
function forwardRequest(prepared: ReadyFixture, dtype: Dtype, x: Tensor, w: Tensor, b: Tensor | undefined): HostForwardRequest {
  const { meta, layouts } = prepared;
  return {
    meta: dtype === meta.dtype ? meta : { ...meta, dtype },
    x: toAdapterLayout('x', x, layouts),
    w: toAdapterLayout('w', w, layouts),
    ...(b !== undefined ? { b } : {}),
    expected: { dtype, shape: adapterShape('dy', meta.shapes.dy, layouts), layout: layoutLabel('dy', layouts) },
    timeoutMs: prepared.request.timeoutMs,
  };
}

/**
 * Ask for the scored y now, right after the fixture's backward request, on a host that
 * queues requests and answers them in order (maxInFlight > 1): the adapter computes it
 * after the backward without waiting for the runner to read that answer first. Pass the
 * answer to runForwardStage. Undefined when no y is scored.
 */
export function askForwardY(host: AdapterHost, prepared: ReadyFixture, capabilities: AdapterCapabilities): Promise<HostForwardResponse> | undefined {
  const { meta, fixture } = prepared;
  // Asked when runForwardStage would ask for it: a forward, an expected y, and a bound for y.
  if (host.runForward === undefined || capabilities.forward !== true || fixture.forward === undefined) return undefined;
  if (forwardBoundProblem(fixture.forward, meta.dtype) !== null) return undefined;
  return host.runForward(forwardRequest(prepared, meta.dtype, fixture.x, fixture.w, undefined));
}

/**
 * Run the forward stage of one fixture whose backward answered `backward`. Null when there
 * is nothing to do (no forward, no expected y and no --gradcheck, or a backward that did not answer).
 * `askedY`: the answer of askForwardY for this fixture, when it was asked ahead (it is not asked again).
 */
export async function runForwardStage(
  host: AdapterHost,
  prepared: ReadyFixture,
  backward: HostResponse,
  capabilities: AdapterCapabilities,
  options: ForwardStageOptions,
  askedY?: Promise<HostForwardResponse>,
): Promise<ForwardStage | null> {
  const runForward = host.runForward?.bind(host);
  if (runForward === undefined || capabilities.forward !== true || backward.kind !== 'ok') return null;
  const { meta, fixture, layouts } = prepared;
  const expectedY = fixture.forward;
  if (expectedY === undefined && !options.gradcheck) return null;
  let adapterSeconds = 0;
  const notes: string[] = [];
  const receive = (response: HostForwardResponse): Tensor => {
    if (response.kind !== 'ok') {
      adapterSeconds += response.kind === 'error' ? (response.adapterSeconds ?? 0) : 0;
      throw new ForwardFailure(response);
    }
    adapterSeconds += response.adapterSeconds;
    // y is an activation: it comes back from the adapter's layout like dy.
    return fromAdapterLayout('dy', response.y, layouts);
  };
  const call = async (dtype: Dtype, x: Tensor, w: Tensor, b: Tensor | undefined): Promise<Tensor> => receive(await runForward(forwardRequest(prepared, dtype, x, w, b)));
  try {
    let y: Tensor | undefined;
    if (expectedY !== undefined) {
      const problem = forwardBoundProblem(expectedY, meta.dtype);
      if (problem !== null) notes.push(`y not scored: ${problem}`);
      else y = receive(await (askedY ?? runForward(forwardRequest(prepared, meta.dtype, fixture.x, fixture.w, undefined))));
    }
    const gradcheck = options.gradcheck ? await gradcheckFixture(host, prepared, backward, capabilities, call) : undefined;
    return { kind: 'done', ...(y !== undefined ? { y } : {}), ...(gradcheck !== undefined ? { gradcheck: gradcheck.summary } : {}), adapterSeconds: adapterSeconds + (gradcheck?.backwardSeconds ?? 0), notes };
  } catch (error) {
    if (!(error instanceof ForwardFailure)) throw error;
    if (error.response.kind === 'timeout') return { kind: 'timeout', adapterSeconds };
    return { kind: 'error', message: `conv2dForward: ${error.response.message}`, ...(error.response.detail !== undefined ? { detail: error.response.detail } : {}), adapterSeconds };
  }
}

type Call = (dtype: Dtype, x: Tensor, w: Tensor, b: Tensor | undefined) => Promise<Tensor>;

/** The gradients of a backward call, in the corpus layout and float64 (or why there are none). */
function gradientsOf(response: HostResponse, layouts: AdapterLayouts): Record<OutputName, Float64Tensor> | string {
  if (response.kind !== 'ok') return response.kind === 'error' ? `the float64 backward failed: ${response.message}` : `the float64 backward: ${response.kind}`;
  const { dx, dw, db } = response.outputs;
  if (dx === undefined || dw === undefined || db === undefined) return 'the checks need dx, dw and db (the adapter does not declare them all in outputs)';
  return { dx: float64Of(fromAdapterLayout('dx', dx, layouts)), dw: float64Of(fromAdapterLayout('dw', dw, layouts)), db: float64Of(db) };
}

async function gradcheckFixture(
  host: AdapterHost,
  prepared: ReadyFixture,
  backward: HostResponse,
  capabilities: AdapterCapabilities,
  call: Call,
): Promise<{ summary: GradcheckSummary; backwardSeconds: number }> {
  const { meta, fixture, layouts } = prepared;
  const dtype: Dtype = capabilities.dtypes.includes('float64') ? 'float64' : meta.dtype;
  const fpmath = capabilities.precision?.fpmath ?? 'strict';
  const samples = GRADCHECK_SAMPLES;
  const method =
    `adjoint identities and central differences at ${samples} seeded elements of x and of w, in ${dtype}` +
    (dtype === 'float64' ? '' : ` (the adapter does not declare float64): steps rounded to ${dtype}, bounds of ${dtype}`) +
    `, fpmath ${fpmath}; step per tensor: the largest |element| rounded down to a power of two; ${1 + 4 * samples} forward calls at most`;
  const skipped = (reason: string, forwardCalls = 0): { summary: GradcheckSummary; backwardSeconds: number } => ({
    summary: { status: 'skipped', dtype, method, forwardCalls, checks: [], reason },
    backwardSeconds: 0,
  });
  if (capabilities.precision !== undefined && capabilities.precision.algorithm !== 'direct') {
    return skipped(`the checks' proven bounds are for the direct algorithm; the adapter declares ${capabilities.precision.algorithm}`);
  }
  const x = float64Of(fixture.x);
  const w = float64Of(fixture.w);
  const dy = float64Of(fixture.dy);
  let backwardSeconds = 0;
  let gradients: Record<OutputName, Float64Tensor> | string;
  if (dtype === meta.dtype) {
    gradients = gradientsOf(backward, layouts);
  } else {
    // The same inputs, widened exactly to float64, through the adapter's backward again.
    const metaIn: FixtureMeta = { ...meta, dtype };
    const expected: ExpectedOutputs = {};
    for (const name of capabilities.outputs) expected[name] = { ...prepared.request.expected[name]!, dtype };
    const response = await host.run({
      meta: metaIn,
      x: toAdapterLayout('x', inDtype(x, dtype), layouts),
      w: toAdapterLayout('w', inDtype(w, dtype), layouts),
      dy: toAdapterLayout('dy', inDtype(dy, dtype), layouts),
      expected,
      timeoutMs: prepared.request.timeoutMs,
    });
    backwardSeconds = response.kind === 'ok' ? response.adapterSeconds : 0;
    gradients = gradientsOf(response, layouts);
  }
  if (typeof gradients === 'string') return { ...skipped(gradients), backwardSeconds };
  const prng = new Prng(fixtureSeed(meta));
  const b = seededBias(prng, meta.shapes.w[0]);
  let forwardCalls = 0;
  const forward: ForwardCall = async (xIn, wIn, bIn) => {
    forwardCalls++;
    return float64Of(await call(dtype, inDtype(xIn, dtype), inDtype(wIn, dtype), inDtype(bIn, dtype)));
  };
  const y = await forward(x, w, b);
  const tensors: GradcheckTensors = { x, w, b, dy, y, ...gradients };
  const context = { dtype, fpmath, params: meta.params };
  const indices = { x: sampleIndices(prng, x.data.length, samples), w: sampleIndices(prng, w.data.length, samples) };
  const checks = [...adjointChecks(tensors, context), ...(await differenceChecks(tensors, context, forward, indices))];
  const steps = `steps: x ${differenceStep(x)}, w ${differenceStep(w)}`;
  return { summary: { status: gradcheckStatus(checks), dtype, method: `${method}; ${steps}`, forwardCalls, checks }, backwardSeconds };
}
