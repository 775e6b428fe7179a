/**
 * Hosts a JavaScript adapter module in a child process (never in the runner's
 * event loop). One child serves many fixtures; when the adapter crashes, exits,
 * or overruns its timeout the child is killed and a fresh one is started for
 * the next fixture.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { bwrapArgs, findBwrap, nodeAdapterFolders, type SandboxOptions } from './sandbox.js';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConformanceError } from '../../src/errors.js';
import type { AdapterCapabilities, FixtureMeta, OutputName, Tensor } from '../../src/types.js';
import { OUTPUT_NAMES } from '../../src/types.js';
import { describeExit, killOnExit, killProcessGroup, OutputTail, watchEnd, type AdapterHost, type HostForwardRequest, type HostForwardResponse, type HostOutput, type HostRequest, type HostResponse, type SupportResponse } from './adapter-host.js';
import { validateCapabilities } from './capabilities.js';
import type { BackwardResultMessage, ChildMessage, ForwardResultMessage, RunnerMessage, SupportsAnswerMessage } from './protocol.js';
import { Restarter, type RestartOutcome } from './restarter.js';
import { checkOutputTensor } from './result-check.js';

/** The child entry, next to this file (.js after the build, .ts when run from the sources with a loader). */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const extension = here.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./adapter-child${extension}`, import.meta.url));
}

type Answer =
  | { kind: 'message'; message: BackwardResultMessage | SupportsAnswerMessage | ForwardResultMessage | { type: 'backward-error'; message: string; stack?: string; seconds: number } }
  | { kind: 'failed'; message: string; detail?: string }
  | { kind: 'timeout' };

/** One request to the adapter's process, from the moment it is asked until it is answered. */
interface Job {
  message: RunnerMessage & { requestId: number };
  fixtureId: string;
  timeoutMs: number;
  settle: (answer: Answer) => void;
  /** The process the request was sent to (null: not sent yet, or to be sent again to a fresh process). */
  sentTo: ChildProcess | null;
  /** Runs while the job is the one the process computes (the first of the queue). */
  timer: NodeJS.Timeout | null;
  /** Why sending it to `sentTo` failed, if it did. */
  sendError?: string;
}

const SHUTDOWN_GRACE_MS = 5000;

/**
 * Requests queued to one adapter process at a time. The process computes them one
 * after the other, so while the runner scores one result the next request is
 * already there: the adapter does not wait for the runner between fixtures.
 */
export const MODULE_HOST_MAX_IN_FLIGHT = 3;

export class ModuleHost implements AdapterHost {
  readonly maxInFlight = MODULE_HOST_MAX_IN_FLIGHT;
  /** The latest process started (loading, ready, or ending). */
  private child: ChildProcess | null = null;
  /** The process that has loaded the adapter and takes requests; null while none does. */
  private readyChild: ChildProcess | null = null;
  /** Resolves when the latest process's end has been handled (its job failed, its queue freed). */
  private ended: Promise<void> = Promise.resolve();
  /** Asked and not yet answered, in the order sent: jobs[0] is the one the process is computing. */
  private jobs: Job[] = [];
  /** Why each process ended itself (a `fatal` message), for the job it was computing. */
  private readonly fatal = new WeakMap<ChildProcess, { message: string; stack?: string }>();
  /** Processes killed by the runner (timeout, shutdown): their end is no job's fault. */
  private readonly retired = new WeakSet<ChildProcess>();
  private readonly stderrTail = new OutputTail();
  private nextRequestId = 1;
  /** Starts a fresh process for queued jobs after one ended (two callers share one start). */
  private readonly restarter = new Restarter({
    ended: () => this.ended,
    closing: () => this.closing,
    spawn: () => this.spawn(),
    failure: 'the adapter could not be restarted after its previous process ended',
  });
  private closing = false;

  /**
   * @param modulePath absolute path of the adapter module
   * @param source how the user named it (for messages)
   * @param loadTimeoutMs how long import + init() may take
   */
  constructor(
    private readonly modulePath: string,
    private readonly source: string,
    private readonly output: HostOutput,
    private readonly loadTimeoutMs: number,
    /** --sandbox: run under bwrap with these corpus folders hidden (see sandbox.ts). */
    private readonly sandbox?: SandboxOptions,
  ) {}

  async start(): Promise<AdapterCapabilities> {
    if (!existsSync(this.modulePath)) {
      throw new ConformanceError('E_ADAPTER_LOAD', `adapter module not found: ${this.modulePath} (from --impl ${this.source})`, { path: this.modulePath });
    }
    if (!statSync(this.modulePath).isFile()) {
      throw new ConformanceError('E_ADAPTER_LOAD', `adapter module ${this.modulePath} (from --impl ${this.source}) is not a file`, { path: this.modulePath });
    }
    return this.spawn();
  }

  /** --sandbox: fork runs `bwrap ARGS node CHILD MODULE`; the IPC descriptor (NODE_CHANNEL_FD) passes through bwrap. */
  private sandboxed(): { execPath?: string; execArgv?: string[] } {
    if (this.sandbox === undefined) return {};
    const folder = dirname(this.modulePath);
    const args = bwrapArgs({ readOnly: [folder, ...nodeAdapterFolders(folder), ...this.sandbox.readOnly], writable: [], hidden: this.sandbox.hidden, cwd: folder });
    return { execPath: findBwrap(), execArgv: [...args, process.execPath, ...process.execArgv] };
  }

  private spawn(): Promise<AdapterCapabilities> {
    this.stderrTail.clear();
    const child = fork(childEntry(), [this.modulePath], {
      ...this.sandboxed(),
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: helpers the adapter starts are killed with it (killProcessGroup).
      detached: true,
    });
    this.child = child;
    let markEnded = (): void => {};
    this.ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });
    child.once('exit', () => {
      // From now on nothing is sent to it; a fresh process waits until its end is handled (onEnded).
      if (this.readyChild === child) this.readyChild = null;
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.output.verbose) this.output.stream.write(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail.push(chunk.toString('utf8'));
      if (this.output.verbose) this.output.stream.write(chunk);
    });

    return new Promise<AdapterCapabilities>((resolve, reject) => {
      let loading = true;
      const fail = (message: string, stack?: string): void => {
        if (!loading) return;
        loading = false;
        clearTimeout(timer);
        this.kill(child);
        const tail = this.stderrTail.text().trim();
        const parts = [message];
        if (stack !== undefined && stack !== '') parts.push(stack);
        if (tail !== '') parts.push(`adapter stderr:\n${tail}`);
        reject(new ConformanceError('E_ADAPTER_LOAD', parts.join('\n'), { source: this.source }));
      };
      const timer = setTimeout(() => {
        fail(`adapter ${this.source} did not finish loading (import and init()) within ${this.loadTimeoutMs} ms (--load-timeout)`);
      }, this.loadTimeoutMs);

      child.on('message', (raw: ChildMessage) => {
        if (loading) {
          if (raw.type === 'ready') {
            let capabilities: AdapterCapabilities;
            try {
              capabilities = validateCapabilities(raw.declared, this.source, { allowFunction: true });
            } catch (error) {
              fail((error as Error).message);
              return;
            }
            loading = false;
            clearTimeout(timer);
            this.readyChild = child;
            resolve(capabilities);
          } else if (raw.type === 'load-error') {
            fail(`cannot load adapter ${this.source}: ${raw.message}`, raw.stack);
          } else if (raw.type === 'fatal') {
            fail(`adapter ${this.source} ended its process while loading: ${raw.message}`, raw.stack);
          }
          return;
        }
        this.onMessage(child, raw);
      });
      child.on('error', (error) => {
        if (loading) {
          fail(`cannot start the adapter process: ${error.message}`);
          return;
        }
        // The process cannot be reached: what it computes is lost. Its end (or the kill) frees the queue.
        const head = this.jobs[0];
        if (head !== undefined && head.sentTo === child) this.finishHead({ kind: 'failed', message: `the adapter's process failed: ${error.message}` });
        this.retire(child);
      });
      const untrack = killOnExit(() => this.kill(child));
      void watchEnd(child, (code, signal) => {
        untrack();
        if (this.child === child) this.child = null;
        if (this.readyChild === child) this.readyChild = null;
        if (loading) {
          const fatal = this.fatal.get(child);
          fail(`adapter ${this.source}: its process ${describeExit(code, signal)} while loading${fatal ? ` (${fatal.message})` : ''}`);
        } else {
          this.onEnded(child, code, signal);
        }
        markEnded();
      });
    });
  }

  /** The process ended: fail the job it was computing (unless the runner ended it), and carry on with the rest. */
  private onEnded(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const head = this.jobs[0];
    if (head !== undefined && head.sentTo === child && !this.retired.has(child)) {
      const fatal = this.fatal.get(child);
      const reason = fatal !== undefined ? fatal.message : `the adapter's process ${describeExit(code, signal)}`;
      const tail = this.stderrTail.text().trim();
      const detail = [fatal?.stack, tail === '' ? undefined : `adapter stderr:\n${tail}`].filter((part) => part !== undefined).join('\n') || undefined;
      if (head.sendError !== undefined && fatal === undefined) {
        this.finishHead({ kind: 'failed', message: `could not send fixture ${head.fixtureId} to the adapter's process: ${head.sendError}`, detail });
      } else {
        this.finishHead({ kind: 'failed', message: `${reason} while computing fixture ${head.fixtureId}`, detail });
      }
    }
    // Requests the ended process had queued were never computed: a fresh process gets them.
    for (const job of this.jobs) {
      if (job.sentTo !== child) continue;
      job.sentTo = null;
      job.sendError = undefined;
    }
    void this.resume();
  }

  private onMessage(child: ChildProcess, message: ChildMessage): void {
    if (message.type === 'fatal') {
      this.fatal.set(child, { message: message.message, stack: message.stack });
      // Whatever the process sends after this cannot be trusted: end it now.
      this.kill(child);
      return;
    }
    if (message.type === 'backward-result' || message.type === 'supports-answer' || message.type === 'backward-error' || message.type === 'forward-result') {
      const head = this.jobs[0];
      // The process answers in order: only the answer to the request it computes is awaited.
      if (head !== undefined && head.sentTo === child && message.requestId === head.message.requestId && this.fatal.get(child) === undefined) {
        this.finishHead({ kind: 'message', message });
      }
    }
  }

  /** Answer the first job and start the clock of the next one (already queued in the process). */
  private finishHead(answer: Answer): void {
    const head = this.jobs.shift();
    if (head === undefined) return;
    if (head.timer !== null) clearTimeout(head.timer);
    head.settle(answer);
    this.armHead();
  }

  /** The first job's time limit runs from the moment the process can work on it. */
  private armHead(): void {
    const head = this.jobs[0];
    if (head === undefined || head.timer !== null || head.sentTo === null || head.sentTo !== this.readyChild) return;
    const child = head.sentTo;
    head.timer = setTimeout(() => {
      if (this.jobs[0] !== head) return;
      head.timer = null;
      // The process is stuck in this job: end it; the jobs queued behind go to a fresh one.
      this.retire(child);
      this.finishHead({ kind: 'timeout' });
    }, head.timeoutMs);
  }

  /** Kill a process on purpose; its end fails no job. */
  private retire(child: ChildProcess): void {
    this.retired.add(child);
    if (this.readyChild === child) this.readyChild = null;
    this.kill(child);
  }

  private kill(child: ChildProcess): void {
    killProcessGroup(child);
  }

  /** Send every job not yet sent to the current process, in order. */
  private sendQueued(): void {
    const child = this.readyChild;
    if (child === null) return;
    for (const job of this.jobs) {
      if (job.sentTo === child) continue;
      job.sentTo = child;
      child.send(job.message, (error: Error | null) => {
        if (error === null || job.sentTo !== child) return;
        // The channel is broken (usually: the process is ending). The process's end decides what
        // happens: the job it was computing fails, the others go to a fresh process.
        if (job.sendError === undefined) job.sendError = error.message;
        this.kill(child);
      });
    }
    this.armHead();
  }

  /**
   * Make sure a process runs for the queued jobs and that they were all sent to it.
   * A process that cannot be started fails the first job (as each fixture would), then the next one tries again.
   */
  private async resume(): Promise<void> {
    while (this.jobs.length > 0 && !this.closing) {
      if (this.readyChild !== null) {
        this.sendQueued();
        return;
      }
      const ready = await this.ensureChild();
      if (this.closing) return;
      if (ready.ok) continue;
      const head = this.jobs.shift();
      if (head === undefined) return;
      if (head.timer !== null) clearTimeout(head.timer);
      head.settle({ kind: 'failed', message: ready.message, detail: ready.detail });
    }
  }

  /** A ready process: the current one, or a fresh one started once the previous one's end has been handled. */
  private ensureChild(): Promise<RestartOutcome> {
    if (this.readyChild !== null) return Promise.resolve({ ok: true });
    return this.restarter.restart();
  }

  private ask(message: RunnerMessage & { requestId: number }, timeoutMs: number, fixtureId: string): Promise<Answer> {
    if (this.closing) return Promise.resolve({ kind: 'failed', message: 'the runner is shutting down' });
    return new Promise<Answer>((resolve) => {
      this.jobs.push({ message, fixtureId, timeoutMs, settle: resolve, sentTo: null, timer: null });
      void this.resume();
    });
  }

  async checkSupport(meta: FixtureMeta, timeoutMs: number): Promise<SupportResponse> {
    const answer = await this.ask({ type: 'supports', requestId: this.nextRequestId++, meta }, timeoutMs, meta.id);
    if (answer.kind === 'timeout') return { kind: 'timeout' };
    if (answer.kind === 'failed') return { kind: 'error', message: answer.message, detail: answer.detail };
    if (answer.message.type !== 'supports-answer') return { kind: 'error', message: `unexpected answer '${answer.message.type}' to a supports request` };
    const reply = answer.message.answer;
    if (reply.kind === 'error') return { kind: 'error', message: reply.message, detail: reply.stack };
    return reply;
  }

  async run(request: HostRequest): Promise<HostResponse> {
    const { meta } = request;
    const answer = await this.ask(
      {
        type: 'backward',
        requestId: this.nextRequestId++,
        id: meta.id,
        params: meta.params,
        x: request.x,
        w: request.w,
        dy: request.dy,
        expected: request.expected,
      },
      request.timeoutMs,
      meta.id,
    );
    if (answer.kind === 'timeout') return { kind: 'timeout' };
    if (answer.kind === 'failed') return { kind: 'error', message: answer.message, detail: answer.detail };
    const message = answer.message;
    if (message.type === 'backward-error') {
      return { kind: 'error', message: message.message, detail: message.stack, adapterSeconds: finiteSeconds(message.seconds) };
    }
    if (message.type !== 'backward-result') return { kind: 'error', message: `unexpected answer '${message.type}' to a backward request` };
    // Check again what arrived: the child is the adapter's process, and nothing from it is trusted.
    const outputs: Partial<Record<OutputName, Tensor>> = {};
    try {
      for (const name of OUTPUT_NAMES) {
        const expected = request.expected[name];
        if (expected !== undefined) outputs[name] = checkOutputTensor(name, message.outputs?.[name], expected);
      }
    } catch (error) {
      return { kind: 'error', message: (error as Error).message };
    }
    const notes = Array.isArray(message.notes) ? message.notes.filter((note): note is string => typeof note === 'string') : [];
    return { kind: 'ok', outputs, adapterSeconds: finiteSeconds(message.seconds), notes };
  }

  /** The adapter's conv2dForward, queued and isolated like a backward request. */
  async runForward(request: HostForwardRequest): Promise<HostForwardResponse> {
    const { meta } = request;
    const answer = await this.ask(
      {
        type: 'forward',
        requestId: this.nextRequestId++,
        id: meta.id,
        params: meta.params,
        x: request.x,
        w: request.w,
        ...(request.b !== undefined ? { b: request.b } : {}),
        expected: request.expected,
      },
      request.timeoutMs,
      meta.id,
    );
    if (answer.kind === 'timeout') return { kind: 'timeout' };
    if (answer.kind === 'failed') return { kind: 'error', message: answer.message, detail: answer.detail };
    const message = answer.message;
    if (message.type === 'backward-error') return { kind: 'error', message: message.message, detail: message.stack, adapterSeconds: finiteSeconds(message.seconds) };
    if (message.type !== 'forward-result') return { kind: 'error', message: `unexpected answer '${message.type}' to a forward request` };
    try {
      // Checked again: nothing from the adapter's process is trusted.
      return { kind: 'ok', y: checkOutputTensor('y', message.y, request.expected), adapterSeconds: finiteSeconds(message.seconds) };
    } catch (error) {
      return { kind: 'error', message: (error as Error).message };
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.jobs.splice(0)) {
      if (job.timer !== null) clearTimeout(job.timer);
      job.settle({ kind: 'failed', message: 'the runner is shutting down' });
    }
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) {
      await this.ended;
      return;
    }
    this.retired.add(child);
    this.readyChild = null;
    if (child.connected) {
      child.send({ type: 'shutdown' } satisfies RunnerMessage, (error: Error | null) => {
        if (error !== null) this.kill(child);
      });
    } else {
      this.kill(child);
    }
    const timer = setTimeout(() => this.kill(child), SHUTDOWN_GRACE_MS);
    // Its end handled: its output read (--verbose loses nothing), its process group killed.
    await this.ended;
    clearTimeout(timer);
  }
}

function finiteSeconds(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
