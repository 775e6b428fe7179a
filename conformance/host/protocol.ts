/**
 * Messages between the runner and the child process that hosts a module adapter
 * (child_process.fork with serialization 'advanced': typed arrays travel as such).
 *
 * runner -> child: supports, backward, forward, shutdown
 * child -> runner: ready | load-error (once, after import and init), then one
 *   answer per request (supports-answer, backward-result, forward-result, or
 *   backward-error, which also answers a forward that failed), and
 *   `fatal` when the adapter kills its process (process.exit, uncaught exception).
 */
import type { DeclaredCapabilities } from './capabilities.js';
import type { ExpectedOutput, ExpectedOutputs } from './result-check.js';
import type { Conv2dParams, FixtureMeta, OutputName, Tensor } from '../../src/types.js';

export interface SupportsRequest {
  type: 'supports';
  requestId: number;
  meta: FixtureMeta;
}

export interface BackwardWireRequest {
  type: 'backward';
  requestId: number;
  id: string;
  params: Conv2dParams;
  x: Tensor;
  w: Tensor;
  dy: Tensor;
  expected: ExpectedOutputs;
}

/** The adapter's optional conv2dForward: y = conv(x, w) + b (b absent: no bias). */
export interface ForwardWireRequest {
  type: 'forward';
  requestId: number;
  id: string;
  params: Conv2dParams;
  x: Tensor;
  w: Tensor;
  b?: Tensor;
  expected: ExpectedOutput;
}

export interface ForwardResultMessage {
  type: 'forward-result';
  requestId: number;
  y: Tensor;
  /** Seconds spent inside conv2dForward, measured in the child. */
  seconds: number;
}

export interface ShutdownRequest {
  type: 'shutdown';
}

export type RunnerMessage = SupportsRequest | BackwardWireRequest | ForwardWireRequest | ShutdownRequest;

export interface ReadyMessage {
  type: 'ready';
  declared: DeclaredCapabilities;
}

export interface LoadErrorMessage {
  type: 'load-error';
  message: string;
  /** Stack of the original error when the module or its init() threw. */
  stack?: string;
}

export type SupportsAnswer = { kind: 'supported' } | { kind: 'unsupported'; reason: string } | { kind: 'error'; message: string; stack?: string };

export interface SupportsAnswerMessage {
  type: 'supports-answer';
  requestId: number;
  answer: SupportsAnswer;
}

export interface BackwardResultMessage {
  type: 'backward-result';
  requestId: number;
  outputs: Partial<Record<OutputName, Tensor>>;
  /** Seconds spent inside conv2dBackward, measured in the child. */
  seconds: number;
  notes: string[];
}

export interface BackwardErrorMessage {
  type: 'backward-error';
  requestId: number;
  message: string;
  stack?: string;
  /** Seconds spent inside conv2dBackward before it threw (0 when the result check failed first). */
  seconds: number;
}

export interface FatalMessage {
  type: 'fatal';
  message: string;
  stack?: string;
}

export type ChildMessage = ReadyMessage | LoadErrorMessage | SupportsAnswerMessage | BackwardResultMessage | BackwardErrorMessage | ForwardResultMessage | FatalMessage;
