/**
 * Hosts a JavaScript adapter module in a child process (never in the runner's
 * event loop). One child serves many fixtures; when the adapter crashes, exits,
 * or overruns its timeout the child is killed and a fresh one is started for
 * the next fixture.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConformanceError } from '../../src/errors.js';
import type { AdapterCapabilities, FixtureMeta, OutputName, Tensor } from '../../src/types.js';
import { OUTPUT_NAMES } from '../../src/types.js';
import { describeExit, killOnExit, OutputTail, watchEnd, type AdapterHost, type HostOutput, type HostRequest, type HostResponse, type SupportResponse } from './adapter-host.js';
import { validateCapabilities } from './capabilities.js';
import type { BackwardResultMessage, ChildMessage, RunnerMessage, SupportsAnswerMessage } from './protocol.js';
import { checkOutputTensor } from './result-check.js';

/** The child entry, next to this file (.js after the build, .ts when run from the sources with a loader). */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const extension = here.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./adapter-child${extension}`, import.meta.url));
}

type Answer =
  | { kind: 'message'; message: BackwardResultMessage | SupportsAnswerMessage | { type: 'backward-error'; message: string; stack?: string; seconds: number } }
  | { kind: 'failed'; message: string; detail?: string }
  | { kind: 'timeout' };

interface Pending {
  requestId: number;
  settle: (answer: Answer) => void;
}

const SHUTDOWN_GRACE_MS = 5000;

export class ModuleHost implements AdapterHost {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private pending: Pending | null = null;
  private fatal: { message: string; stack?: string } | null = null;
  private readonly stderrTail = new OutputTail();
  private nextRequestId = 1;
  private currentFixture = '';

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

  private spawn(): Promise<AdapterCapabilities> {
    this.fatal = null;
    this.stderrTail.clear();
    const child = fork(childEntry(), [this.modulePath], {
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
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
        fail(`adapter ${this.source} did not finish loading (import and init()) within ${this.loadTimeoutMs} ms`);
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
        if (loading) fail(`cannot start the adapter process: ${error.message}`);
        else this.settle({ kind: 'failed', message: `the adapter's process failed: ${error.message}` });
      });
      const untrack = killOnExit(() => this.kill(child));
      this.exited = watchEnd(child, (code, signal) => {
        untrack();
        if (this.child === child) this.child = null;
        if (loading) {
          fail(`adapter ${this.source}: its process ${describeExit(code, signal)} while loading${this.fatal ? ` (${this.fatal.message})` : ''}`);
          return;
        }
        const reason = this.fatal !== null ? this.fatal.message : `the adapter's process ${describeExit(code, signal)}`;
        const tail = this.stderrTail.text().trim();
        this.settle({
          kind: 'failed',
          message: `${reason} while computing fixture ${this.currentFixture}`,
          detail: [this.fatal?.stack, tail === '' ? undefined : `adapter stderr:\n${tail}`].filter((part) => part !== undefined).join('\n') || undefined,
        });
      });
    });
  }

  private onMessage(child: ChildProcess, message: ChildMessage): void {
    if (message.type === 'fatal') {
      this.fatal = { message: message.message, stack: message.stack };
      // Whatever the process sends after this cannot be trusted: end it now.
      this.kill(child);
      return;
    }
    if (message.type === 'backward-result' || message.type === 'supports-answer' || message.type === 'backward-error') {
      if (this.pending !== null && message.requestId === this.pending.requestId) {
        this.settle({ kind: 'message', message });
      }
    }
  }

  private settle(answer: Answer): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    pending.settle(answer);
  }

  private kill(child: ChildProcess): void {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** Make sure a child is running; a failed restart becomes an error answer. */
  private async ensureChild(): Promise<{ ok: true } | { ok: false; message: string; detail?: string }> {
    if (this.child !== null) return { ok: true };
    try {
      await this.spawn();
      return { ok: true };
    } catch (error) {
      const text = (error as Error).message;
      const [first, ...rest] = text.split('\n');
      return { ok: false, message: `the adapter could not be restarted after its previous process ended: ${first}`, detail: rest.join('\n') || undefined };
    }
  }

  private async ask(message: RunnerMessage & { requestId: number }, timeoutMs: number, fixtureId: string): Promise<Answer> {
    const child = this.child!;
    this.currentFixture = fixtureId;
    const answer = await new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        this.settle({ kind: 'timeout' });
      }, timeoutMs);
      this.pending = {
        requestId: message.requestId,
        settle: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      child.send(message, (error: Error | null) => {
        if (error !== null) this.settle({ kind: 'failed', message: `could not send fixture ${fixtureId} to the adapter's process: ${error.message}` });
      });
    });
    if (answer.kind !== 'message') {
      // Timed out or died: make sure the process is gone before the next fixture starts a fresh one.
      this.kill(child);
      await this.exited;
      if (this.child === child) this.child = null;
    }
    return answer;
  }

  async checkSupport(meta: FixtureMeta, timeoutMs: number): Promise<SupportResponse> {
    const ready = await this.ensureChild();
    if (!ready.ok) return { kind: 'error', message: ready.message, detail: ready.detail };
    const answer = await this.ask({ type: 'supports', requestId: this.nextRequestId++, meta }, timeoutMs, meta.id);
    if (answer.kind === 'timeout') return { kind: 'timeout' };
    if (answer.kind === 'failed') return { kind: 'error', message: answer.message, detail: answer.detail };
    if (answer.message.type !== 'supports-answer') return { kind: 'error', message: `unexpected answer '${answer.message.type}' to a supports request` };
    const reply = answer.message.answer;
    if (reply.kind === 'error') return { kind: 'error', message: reply.message, detail: reply.stack };
    return reply;
  }

  async run(request: HostRequest): Promise<HostResponse> {
    const ready = await this.ensureChild();
    if (!ready.ok) return { kind: 'error', message: ready.message, detail: ready.detail };
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

  async close(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    this.settle({ kind: 'failed', message: 'the runner is shutting down' });
    if (child.connected) {
      child.send({ type: 'shutdown' } satisfies RunnerMessage, (error: Error | null) => {
        if (error !== null) this.kill(child);
      });
    }
    const timer = setTimeout(() => this.kill(child), SHUTDOWN_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

function finiteSeconds(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
