/**
 * What the browser host (../browser-host.ts) and the harness page (./harness.ts)
 * exchange. Small JSON travels through Playwright's page.evaluate; tensors travel
 * as raw bytes over the host's loopback HTTP server:
 *
 *   GET  /job/TOKEN/inputs   x, w, dy bytes back to back (the byte lengths are in the job)
 *   POST /job/TOKEN/outputs  the declared outputs' bytes back to back, in the order dx, dw, db
 *
 * A forward job (the adapter's optional conv2dForward) uses the same two routes: inputs x, w
 * (and b when given) back to back, and y's bytes as its output.
 *
 * TOKEN is a random string per fixture, so a page can only read the job it was given.
 */
import type { SupportsAnswer } from '../protocol.js';
import type { ExpectedOutput, ExpectedOutputs } from '../result-check.js';
import type { DeclaredCapabilities } from '../capabilities.js';
import type { Conv2dParams, Dtype, FixtureMeta, OutputName } from '../../../src/types.js';

/** The name under which the harness installs itself on `window`. */
export const HARNESS_GLOBAL = 'conformanceHarness';
/** The binding the page calls to report an error outside any call (uncaught error, unhandled rejection). */
export const FATAL_BINDING = 'conformanceFatal';

export interface WireTensorSpec {
  dtype: Dtype;
  shape: number[];
  byteLength: number;
}

export interface BrowserJob {
  token: string;
  id: string;
  params: Conv2dParams;
  x: WireTensorSpec;
  w: WireTensorSpec;
  dy: WireTensorSpec;
  expected: ExpectedOutputs;
}

/** A forward call: y = conv(x, w) + b (b absent: no bias); y's dtype and shape in `expected`. */
export interface ForwardJob {
  token: string;
  id: string;
  params: Conv2dParams;
  x: WireTensorSpec;
  w: WireTensorSpec;
  b?: WireTensorSpec;
  expected: ExpectedOutput;
}

export type ForwardAnswer =
  | { kind: 'ok'; y: WireTensorSpec; seconds: number }
  | { kind: 'error'; message: string; stack?: string; seconds: number; lostDevices: LostDevice[] };

export type LoadAnswer = { kind: 'ready'; declared: DeclaredCapabilities; gpu: string | null } | { kind: 'load-error'; message: string; stack?: string };

/** The same answer as the module host's child gives (adapter-calls.ts answerSupports). */
export type SupportsPageAnswer = SupportsAnswer;

export interface LostDevice {
  reason: string;
  message: string;
}

export type RunAnswer =
  | {
      kind: 'ok';
      /** What the page posted, in order: each output's dtype, shape and byte length. */
      outputs: Partial<Record<OutputName, WireTensorSpec>>;
      seconds: number;
      notes: string[];
    }
  | { kind: 'error'; message: string; stack?: string; seconds: number; lostDevices: LostDevice[] };

export interface HarnessApi {
  load(): Promise<LoadAnswer>;
  supports(meta: FixtureMeta): Promise<SupportsPageAnswer>;
  run(job: BrowserJob): Promise<RunAnswer>;
  forward(job: ForwardJob): Promise<ForwardAnswer>;
  dispose(): Promise<void>;
}
