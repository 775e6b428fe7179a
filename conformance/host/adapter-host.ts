/**
 * The common interface of the three ways to run an adapter: a JS module in a
 * child process (module-host.ts), another program speaking JSON lines
 * (command-host.ts, `cmd:`), or outputs computed elsewhere (replay-host.ts, `replay:`).
 */
import { performance } from 'node:perf_hooks';
import type { AdapterCapabilities, FixtureMeta, OutputName, Tensor } from '../../src/types.js';
import type { ExpectedOutput, ExpectedOutputs } from './result-check.js';

/** One fixture's work, tensors already in the adapter's layouts. */
export interface HostRequest {
  meta: FixtureMeta;
  x: Tensor;
  w: Tensor;
  dy: Tensor;
  /** Declared outputs with their dtype and shape in the adapter's layout. */
  expected: ExpectedOutputs;
  timeoutMs: number;
}

export type HostResponse =
  | {
      kind: 'ok';
      /** Checked outputs, in the adapter's layouts. */
      outputs: Partial<Record<OutputName, Tensor>>;
      /** Time inside the adapter for this fixture. */
      adapterSeconds: number;
      notes: string[];
    }
  | { kind: 'error'; message: string; detail?: string; adapterSeconds?: number }
  | { kind: 'timeout' }
  | { kind: 'missing'; message: string }
  /** The adapter declined this one fixture (cmd: protocol 1.1 `{"id", "unsupported": reason}`): a skip with its reason. */
  | { kind: 'unsupported'; reason: string; adapterSeconds?: number };

/** One forward call (y = conv(x, w) + b), tensors in the adapter's layouts. */
export interface HostForwardRequest {
  meta: FixtureMeta;
  x: Tensor;
  w: Tensor;
  /** [Cout] in the fixture's dtype; absent: no bias. */
  b?: Tensor;
  /** y's dtype and shape in the adapter's activation layout. */
  expected: ExpectedOutput;
  timeoutMs: number;
}

export type HostForwardResponse =
  | { kind: 'ok'; y: Tensor; adapterSeconds: number }
  | { kind: 'error'; message: string; detail?: string; adapterSeconds?: number }
  | { kind: 'timeout' };

export type SupportResponse =
  | { kind: 'supported' }
  | { kind: 'unsupported'; reason: string }
  | { kind: 'error'; message: string; detail?: string }
  | { kind: 'timeout' };

/** Whether the host queues several requests and answers them in order (maxInFlight > 1), or takes one at a time. */
export function queuesRequests(host: Pick<AdapterHost, 'maxInFlight'>): boolean {
  return (host.maxInFlight ?? 1) > 1;
}

export interface AdapterHost {
  /**
   * How many run()/checkSupport() calls may be outstanding at once (default 1). A host
   * that takes more queues them and answers them in order, one computed at a time.
   */
  readonly maxInFlight?: number;
  /** Start (load the adapter); throws E_ADAPTER_LOAD with what is wrong. Returns the validated capabilities. */
  start(): Promise<AdapterCapabilities>;
  /** Ask a `supports` function (only called when capabilities.supports === 'function'). */
  checkSupport(meta: FixtureMeta, timeoutMs: number): Promise<SupportResponse>;
  /** Run one fixture; never throws for adapter misbehaviour (that is an error/timeout response). */
  run(request: HostRequest): Promise<HostResponse>;
  /**
   * Call the adapter's forward (hosts that can, when capabilities.forward is true); never throws
   * for adapter misbehaviour. Same isolation as run(): a crash or timeout ends the process or page.
   */
  runForward?(request: HostForwardRequest): Promise<HostForwardResponse>;
  /** Stop everything started; safe to call more than once. */
  close(): Promise<void>;
}

/** Where adapter processes' stdout/stderr go. */
export interface HostOutput {
  /** Forward the adapter's stdout and stderr (to `stream`) instead of discarding them. */
  verbose: boolean;
  stream: NodeJS.WritableStream;
}

/** Keeps the last bytes of a process's stderr for error messages. */
export class OutputTail {
  private chunks: string[] = [];
  private size = 0;

  constructor(private readonly limit = 4000) {}

  push(text: string): void {
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const joined = this.chunks.join('');
    return joined.length > this.limit ? `...${joined.slice(joined.length - this.limit)}` : joined;
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
  }
}

/** How a process ended, for messages: 'exited with code 0', 'was killed by signal SIGKILL'. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `was killed by signal ${signal}`;
  return `exited with code ${code ?? 'unknown'}`;
}

/** After 'exit', the pipes are read until they have been quiet this long (or have closed). */
const DRAIN_IDLE_MS = 300;
/** After 'exit', the pipes are read at most this long: a helper that escaped the process group and keeps writing is cut off. */
const DRAIN_MAX_MS = 10000;

/**
 * Kill a process started `detached` (so it leads its own process group) and
 * every process in that group: helpers an adapter started die with it.
 */
export function killProcessGroup(child: import('node:child_process').ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    // ESRCH: the group is already gone; anything else: fall back to the process itself.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH' && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/**
 * Watch a child process (started `detached`) end. On 'exit' its process group is
 * killed (helpers it left behind), and its stdout/stderr are read on until they
 * close or stay quiet for DRAIN_IDLE_MS, so heavy output is not lost, yet a pipe a
 * helper outside the group still holds never keeps the runner waiting: it is
 * destroyed then. `onEnded` runs once, after that. Returns a promise that
 * resolves on 'exit'.
 */
export function watchEnd(
  child: import('node:child_process').ChildProcess,
  onEnded: (code: number | null, signal: NodeJS.Signals | null) => void,
): Promise<void> {
  let ended = false;
  let lastData = performance.now();
  const touch = (): void => {
    lastData = performance.now();
  };
  child.stdout?.on('data', touch);
  child.stderr?.on('data', touch);
  let timer: NodeJS.Timeout | undefined;
  const end = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.stdin?.destroy();
    onEnded(code, signal);
  };
  child.once('close', (code: number | null, signal: NodeJS.Signals | null) => end(code, signal));
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      killProcessGroup(child);
      const exitedAt = performance.now();
      const check = (): void => {
        const now = performance.now();
        if (now - lastData >= DRAIN_IDLE_MS || now - exitedAt >= DRAIN_MAX_MS) end(code, signal);
        else timer = setTimeout(check, DRAIN_IDLE_MS);
      };
      timer = setTimeout(check, DRAIN_IDLE_MS);
      resolve();
    });
  });
}

const killersOnExit = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Run `kill` if the runner exits while the process (or temporary folder) it
 * cleans up still exists: Ctrl-C and SIGTERM in the CLI end through
 * process.exit, which runs 'exit' listeners (synchronous work only). Returns
 * the function that stops tracking it, to call once it is cleaned up.
 */
export function killOnExit(kill: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const killer of killersOnExit) killer();
    });
  }
  killersOnExit.add(kill);
  return () => {
    killersOnExit.delete(kill);
  };
}
