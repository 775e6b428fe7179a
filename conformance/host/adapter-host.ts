/**
 * The common interface of the three ways to run an adapter: a JS module in a
 * child process (module-host.ts), another program speaking JSON lines
 * (command-host.ts, `cmd:`), or outputs computed elsewhere (replay-host.ts, `replay:`).
 */
import type { AdapterCapabilities, FixtureMeta, OutputName, Tensor } from '../../src/types.js';
import type { ExpectedOutputs } from './result-check.js';

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
  | { kind: 'missing'; message: string };

export type SupportResponse =
  | { kind: 'supported' }
  | { kind: 'unsupported'; reason: string }
  | { kind: 'error'; message: string; detail?: string }
  | { kind: 'timeout' };

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

/** After 'exit', how long to wait for the pipes to drain ('close') before reporting the end anyway. */
const DRAIN_AFTER_EXIT_MS = 500;

/**
 * Watch a child process end. `onEnded` runs once, on 'close' (every line and
 * message the process wrote has been read by then) or shortly after 'exit' when
 * something else (a grandchild) keeps the pipes open. Returns a promise that
 * resolves on 'exit'.
 */
export function watchEnd(
  child: import('node:child_process').ChildProcess,
  onEnded: (code: number | null, signal: NodeJS.Signals | null) => void,
): Promise<void> {
  let ended = false;
  const end = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (ended) return;
    ended = true;
    onEnded(code, signal);
  };
  child.once('close', (code: number | null, signal: NodeJS.Signals | null) => end(code, signal));
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      setTimeout(() => end(code, signal), DRAIN_AFTER_EXIT_MS).unref();
      resolve();
    });
  });
}

const killersOnExit = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Kill a child process if the runner exits while it still runs (Ctrl-C in the CLI
 * ends through process.exit, which runs 'exit' listeners). Returns the function
 * that stops tracking it, to call once it has ended.
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
