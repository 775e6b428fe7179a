/**
 * Entry point of the child process that hosts a module adapter. Started by
 * module-host.ts with `fork(this file, [absolute module path])` and an IPC
 * channel (serialization 'advanced'); it never writes protocol data to stdout,
 * so whatever the adapter prints cannot corrupt the protocol.
 *
 * It imports the module, validates it, calls init(), reports the capabilities,
 * then answers one request at a time, in the order they arrive (the runner may
 * queue a few so the adapter need not wait for it): each call gets the tensors that arrived
 * with the request (fresh copies), the time inside conv2dBackward is measured
 * here, and inputs written by the adapter are detected by comparing them with
 * a copy taken before the call. If the adapter calls process.exit or throws
 * from a callback, a `fatal` message tells the runner why the process ends.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ConformanceError } from '../../src/errors.js';
import type { Adapter, BackwardRequest, ForwardRequest, TensorData } from '../../src/types.js';
import { answerSupports, describeThrown } from './adapter-calls.js';
import { inspectAdapterModule } from './capabilities.js';
import type { BackwardWireRequest, ChildMessage, ForwardWireRequest, RunnerMessage } from './protocol.js';
import { checkBackwardResult, checkForwardResult } from './result-check.js';

const realExit = process.exit.bind(process);
// Captured before the adapter loads: an adapter that replaces process.send cannot intercept answers.
const channelSend = process.send?.bind(process);
let exiting = false;
let adapter: Adapter | undefined;

function send(message: ChildMessage, then?: () => void): void {
  if (channelSend === undefined || !process.connected) {
    then?.();
    return;
  }
  channelSend(message, undefined, {}, (error: Error | null) => {
    if (error !== null) process.stderr.write(`adapter-child: could not send a '${message.type}' message to the runner: ${error.message}\n`);
    then?.();
  });
}

/** Tell the runner why this process ends, then end it. Nothing else is sent afterwards. */
function endWith(message: ChildMessage, code: number): void {
  if (exiting) return;
  exiting = true;
  send(message, () => realExit(code));
  // If the channel never confirms the message, leave anyway.
  setTimeout(() => realExit(code), 2000).unref();
}

process.exit = ((code?: number | string | null) => {
  const shown = code === undefined ? '' : String(code);
  endWith({ type: 'fatal', message: `the adapter called process.exit(${shown})`, stack: new Error('process.exit called').stack }, typeof code === 'number' ? code : 0);
  // process.exit must not return to the adapter as if nothing happened, but it cannot block here;
  // the runner has the `fatal` message and discards anything this call produces.
  return undefined as never;
}) as typeof process.exit;

process.on('uncaughtException', (error: unknown) => {
  const { message, stack } = describeThrown(error);
  endWith({ type: 'fatal', message: `uncaught exception in the adapter's process: ${message}`, stack }, 70);
});

process.on('disconnect', () => {
  // The runner is gone: nobody is waiting for answers.
  realExit(0);
});

function copyOf(data: TensorData): TensorData {
  return data.slice();
}

function sameBytes(a: TensorData, b: TensorData): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** A typed array that owns its whole, ordinary buffer (so sending it does not send a larger buffer or fail on shared memory). */
function compactData<T extends TensorData>(data: T): T {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data;
  return data.slice() as T;
}

/**
 * Await one adapter call, timed here. A throw or rejection is answered at once as
 * 'backward-error' ("NAME threw: ...") and gives null; so does nothing once the process is exiting.
 */
async function timedCall(requestId: number, name: string, call: () => unknown): Promise<{ result: unknown; seconds: number } | null> {
  const start = performance.now();
  let result: unknown;
  try {
    result = await call();
  } catch (error) {
    const seconds = (performance.now() - start) / 1000;
    if (exiting) return null;
    const { message: text, stack } = describeThrown(error);
    send({ type: 'backward-error', requestId, message: `${name} threw: ${text}`, stack, seconds });
    return null;
  }
  const seconds = (performance.now() - start) / 1000;
  return exiting ? null : { result, seconds };
}

async function handleBackward(message: BackwardWireRequest, current: Adapter): Promise<void> {
  const { requestId } = message;
  const before = { x: copyOf(message.x.data), w: copyOf(message.w.data), dy: copyOf(message.dy.data) };
  const request: BackwardRequest = { x: message.x, w: message.w, dy: message.dy, params: message.params, id: message.id };
  const called = await timedCall(requestId, 'conv2dBackward', () => current.conv2dBackward(request));
  if (called === null) return;
  const { result, seconds } = called;
  const notes: string[] = [];
  for (const name of ['x', 'w', 'dy'] as const) {
    if (!sameBytes(before[name], message[name].data)) {
      notes.push(`the adapter wrote into its input ${name} (it got a fresh copy, so scoring is unaffected; callers may not expect inputs to change)`);
    }
  }
  try {
    const checked = checkBackwardResult(result, message.expected);
    for (const tensor of Object.values(checked.outputs)) tensor.data = compactData(tensor.data);
    send({ type: 'backward-result', requestId, outputs: checked.outputs, seconds, notes: [...notes, ...checked.notes] });
  } catch (error) {
    const { message: text, stack } = describeThrown(error);
    send({ type: 'backward-error', requestId, message: text, stack: error instanceof ConformanceError ? undefined : stack, seconds });
  }
}

/** The optional forward, called like conv2dBackward (fresh copies of the inputs, time measured here); errors answer as 'backward-error'. */
async function handleForward(message: ForwardWireRequest, current: Adapter): Promise<void> {
  const { requestId } = message;
  const forward = current.conv2dForward;
  if (typeof forward !== 'function') {
    send({ type: 'backward-error', requestId, message: 'the adapter has no conv2dForward', seconds: 0 });
    return;
  }
  const request: ForwardRequest = { x: message.x, w: message.w, ...(message.b !== undefined ? { b: message.b } : {}), params: message.params, id: message.id };
  const called = await timedCall(requestId, 'conv2dForward', () => forward.call(current, request));
  if (called === null) return;
  const { result, seconds } = called;
  try {
    const y = checkForwardResult(result, message.expected);
    y.data = compactData(y.data);
    send({ type: 'forward-result', requestId, y, seconds });
  } catch (error) {
    const { message: text, stack } = describeThrown(error);
    send({ type: 'backward-error', requestId, message: text, stack: error instanceof ConformanceError ? undefined : stack, seconds });
  }
}

async function handle(message: RunnerMessage): Promise<void> {
  if (exiting) return;
  const current = adapter;
  if (message.type === 'shutdown') {
    exiting = true;
    try {
      await current?.dispose?.();
    } catch (error) {
      process.stderr.write(`adapter dispose() threw: ${describeThrown(error).message}\n`);
    }
    realExit(0);
    return;
  }
  if (current === undefined) return;
  if (message.type === 'supports') {
    const answer = await answerSupports(current, message.meta);
    if (!exiting) send({ type: 'supports-answer', requestId: message.requestId, answer });
    return;
  }
  if (message.type === 'forward') {
    await handleForward(message, current);
    return;
  }
  await handleBackward(message, current);
}

/** TypeScript adapter files, loaded through tsx (a runtime dependency of the runner). */
const TYPESCRIPT_EXTENSION = /\.(ts|mts|cts|tsx)$/;

/** Register tsx's ESM and CommonJS hooks in this process, so that import() and require() of .ts files work. */
async function registerTypeScript(): Promise<void> {
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  cjs.register();
}

async function load(modulePath: string): Promise<void> {
  let namespace: Record<string, unknown>;
  try {
    if (TYPESCRIPT_EXTENSION.test(modulePath)) await registerTypeScript();
    namespace = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  } catch (error) {
    const { message, stack } = describeThrown(error);
    endWith({ type: 'load-error', message: `importing ${modulePath} failed: ${message}`, stack }, 3);
    return;
  }
  if (exiting) return;
  let inspected: ReturnType<typeof inspectAdapterModule>;
  try {
    inspected = inspectAdapterModule(namespace, modulePath);
  } catch (error) {
    endWith({ type: 'load-error', message: describeThrown(error).message }, 3);
    return;
  }
  try {
    await inspected.adapter.init?.();
  } catch (error) {
    const { message, stack } = describeThrown(error);
    endWith({ type: 'load-error', message: `adapter ${modulePath}: init() threw: ${message}`, stack }, 3);
    return;
  }
  if (exiting) return;
  adapter = inspected.adapter;
  const { capabilities } = inspected;
  send({ type: 'ready', declared: { ...capabilities } });
}

const modulePath = process.argv[2];
if (process.send === undefined || modulePath === undefined) {
  process.stderr.write('adapter-child: started without an IPC channel or module path; the conformance runner starts this file itself\n');
  process.exitCode = 2;
} else {
  // The runner may queue several requests: they are answered one at a time, in order (an async
  // adapter never has two calls in progress). `shutdown` does not wait behind them.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (message: RunnerMessage) => {
    if (message.type === 'shutdown') {
      void handle(message);
      return;
    }
    queue = queue
      .then(() => handle(message))
      .catch((error: unknown) => {
        // As an unhandled rejection would be: the process cannot go on answering.
        const { message: text, stack } = describeThrown(error);
        endWith({ type: 'fatal', message: `uncaught exception in the adapter's process: ${text}`, stack }, 70);
      });
  });
  void load(modulePath);
}
