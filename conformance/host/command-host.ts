/**
 * `cmd:` adapters: a program in any language, started once and spoken to over
 * stdin/stdout, one JSON object per line. docs/protocol.md is the reference;
 * in short (protocol 1.0 = "conv2d-backward-conformance/1", 1.1 = ".../1.1"):
 *
 *   program -> runner (first):  {"protocol": "conv2d-backward-conformance/1.1", "name": "...",
 *                                "layout": "NCHW", "filterLayout": "OIHW", "dtypes": ["float32"],
 *                                "supports": {"groups": true, "dilation": true, "asymmetricPads": true},
 *                                "outputs": ["dx", "dw", "db"]}            (all but protocol and name optional)
 *   runner -> program (each):   {"type": "backward", "id": "...", "dtype": "float32", "params": {...},
 *                                "layout": "NCHW", "filterLayout": "OIHW",
 *                                "shapes": {"x": [...], "w": [...], "dy": [...], "dx": [...], ...},
 *                                "inputs": {"x": "/tmp/.../x.npy", "w": ..., "dy": ...},
 *                                "outputs": {"dx": "/tmp/.../dx.npy", ...}}   (only declared outputs)
 *   program -> runner:          {"id": "...", "ok": true}  after writing every output file, or
 *                                {"id": "...", "ok": false, "error": "..."}, or (1.1)
 *                                {"id": "...", "unsupported": "reason"}; optional "seconds" (time computing)
 *   runner -> program (1.2, when the handshake says "forward": true):
 *                               {"type": "forward", "id", "dtype", "params", "layout", "filterLayout",
 *                                "shapes": {"x", "w", "b"?, "y"}, "inputs": {"x", "w", "b"?}, "outputs": {"y"}}
 *                                answered like a backward request ("b" absent: no bias)
 *   runner -> program (last):   {"type": "shutdown"}   then stdin closes.
 *
 * Requests are pipelined: up to COMMAND_HOST_MAX_IN_FLIGHT are written ahead while the
 * program computes (each in its own folder), and answers must come in request order.
 * A program that reads one line, answers it, then reads the next (every 1.0 program)
 * sees no difference. stdout lines that are not JSON objects, or answer no pending
 * request, are ignored (forwarded to stderr with --verbose); a line longer than
 * MAX_LINE_BYTES is discarded as it streams and fails the fixture being computed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { bwrapArgs, findBwrap, nodeAdapterFolders, type SandboxOptions } from './sandbox.js';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConformanceError, describeValue } from '../../src/errors.js';
import { readNpyFile, writeNpy } from '../../src/npy.js';
import { INPUT_NAMES, OUTPUT_NAMES, type AdapterCapabilities, type FixtureMeta, type OutputName, type ScoredName, type Tensor } from '../../src/types.js';
import {
  describeExit,
  killOnExit,
  killProcessGroup,
  OutputTail,
  watchEnd,
  type AdapterHost,
  type HostForwardRequest,
  type HostForwardResponse,
  type HostOutput,
  type HostRequest,
  type HostResponse,
  type SupportResponse,
} from './adapter-host.js';
import { validateCapabilities } from './capabilities.js';
import { Restarter, type RestartOutcome } from './restarter.js';
import { checkOutputTensor, type ExpectedOutput } from './result-check.js';

/** Protocol 1.0 (its handshake string has no minor version). */
export const COMMAND_PROTOCOL = 'conv2d-backward-conformance/1';
/** Protocol 1.1: 1.0 plus the per-fixture "unsupported" answer. */
export const COMMAND_PROTOCOL_1_1 = 'conv2d-backward-conformance/1.1';
/** Protocol 1.2: 1.1 plus the optional forward ("forward": true in the handshake, "type": "forward" requests). */
export const COMMAND_PROTOCOL_1_2 = 'conv2d-backward-conformance/1.2';
export const COMMAND_PROTOCOLS: readonly string[] = [COMMAND_PROTOCOL, COMMAND_PROTOCOL_1_1, COMMAND_PROTOCOL_1_2];
/** The longest stdout line the runner reads (bytes, newline excluded); longer ones are discarded. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Requests written ahead to the program while it computes the first. */
export const COMMAND_HOST_MAX_IN_FLIGHT = 4;

const SHUTDOWN_GRACE_MS = 5000;

type Answer = { kind: 'line'; value: Record<string, unknown>; seconds: number } | { kind: 'failed'; message: string; detail?: string } | { kind: 'timeout' };

/** The program's own "seconds" when it is a finite non-negative number, else the round trip the runner measured. */
function reportedSeconds(reply: Record<string, unknown>, roundTrip: number): number {
  const reported = reply.seconds;
  return typeof reported === 'number' && Number.isFinite(reported) && reported >= 0 ? reported : roundTrip;
}

/** The error message of an answer that is not `"ok": true`: the program's own error, or what was expected (`expected`) and found; null for ok. */
function refusal(reply: Record<string, unknown>, expected: string): string | null {
  if (reply.ok === false) {
    const text = typeof reply.error === 'string' && reply.error !== '' ? reply.error : describeValue(reply.error);
    return `the adapter reported an error: ${text}`;
  }
  if (reply.ok !== true) return `${expected}, found "ok": ${describeValue(reply.ok)}`;
  return null;
}

/** One request, from run() until its answer. */
interface Job {
  id: string;
  line: string;
  timeoutMs: number;
  settle: (answer: Answer) => void;
  /** The program the line was written to (null: not yet, or to be written again to a fresh one). */
  sentTo: ChildProcess | null;
  /** Runs while the job is the one the program computes (the first of the queue). */
  timer: NodeJS.Timeout | null;
  /** When the program could start on it (the previous answer arrived). */
  startedAt: number;
}

/**
 * Splits a byte stream into lines of at most `limit` bytes. A longer line is
 * never held whole: its bytes are counted and dropped as they arrive, and
 * `onOverlong` gets the count at its end.
 */
export class BoundedLineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes of the current line dropped so far (> 0: the line is over the limit). */
  private dropped = 0;

  constructor(
    private readonly limit: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(start, end));
      if (newline === -1) return;
      this.finishLine();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline counts too. */
  end(): void {
    if (this.size > 0 || this.dropped > 0) this.finishLine();
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.dropped > 0 || this.size + piece.length > this.limit) {
      this.dropped += this.size + piece.length;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(piece);
    this.size += piece.length;
  }

  private finishLine(): void {
    if (this.dropped > 0) {
      const bytes = this.dropped;
      this.dropped = 0;
      this.onOverlong(bytes);
      return;
    }
    const text = Buffer.concat(this.parts, this.size).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.onLine(text.endsWith('\r') ? text.slice(0, -1) : text);
  }
}

/**
 * Forwards a stream whole lines at a time (a partial line waits for its end, up to
 * 64 KiB), so that forwarded stderr and stdout lines do not cut into each other.
 */
class LineForwarder {
  private pending: Buffer[] = [];
  private size = 0;

  constructor(private readonly write: (text: Buffer) => void) {}

  push(chunk: Buffer): void {
    const newline = chunk.lastIndexOf(0x0a);
    if (newline === -1) {
      this.pending.push(chunk);
      this.size += chunk.length;
      if (this.size > 64 * 1024) this.flush();
      return;
    }
    this.write(Buffer.concat([...this.pending, chunk.subarray(0, newline + 1)]));
    this.pending = newline + 1 < chunk.length ? [chunk.subarray(newline + 1)] : [];
    this.size = chunk.length - newline - 1;
  }

  flush(): void {
    if (this.size > 0) this.write(Buffer.concat(this.pending));
    this.pending = [];
    this.size = 0;
  }
}

export class CommandHost implements AdapterHost {
  readonly maxInFlight = COMMAND_HOST_MAX_IN_FLIGHT;
  /** The program that wrote its handshake and takes requests; null while none does. */
  private child: ChildProcess | null = null;
  /** Resolves once the latest program's end has been handled (pipes drained, its job failed). */
  private ended: Promise<void> = Promise.resolve();
  /** Starts a fresh program after one ended (concurrent run() calls share one start). */
  private readonly restarter = new Restarter({
    ended: () => this.ended,
    closing: () => this.closing,
    spawn: () => this.spawn(),
    failure: 'the adapter program could not be restarted after it ended',
  });
  /** Asked and not yet answered, in the order sent: jobs[0] is the one the program computes. */
  private jobs: Job[] = [];
  /** Programs the runner ended on purpose (timeout, shutdown): their end is no job's fault. */
  private readonly retired = new WeakSet<ChildProcess>();
  private readonly stderrTail = new OutputTail();
  private tempDir: string | null = null;
  private untrackTempDir: () => void = () => {};
  private sequence = 0;
  /** Ends a program that has not written its handshake yet (set while one loads). */
  private cancelLoading: (() => void) | null = null;
  /** Removals of finished requests' files still under way (awaited at close, before the folder goes). */
  private readonly removals = new Set<Promise<void>>();
  private capabilities: AdapterCapabilities | null = null;
  private closing = false;

  /**
   * @param command the shell command (what follows `cmd:`)
   * @param loadTimeoutMs how long the program may take to write its handshake
   */
  constructor(
    private readonly command: string,
    private readonly output: HostOutput,
    private readonly loadTimeoutMs: number,
    /** --sandbox: run under bwrap with these corpus folders hidden (see sandbox.ts). */
    private readonly sandbox?: SandboxOptions,
  ) {}

  private get source(): string {
    return `cmd:${this.command}`;
  }

  async start(): Promise<AdapterCapabilities> {
    if (this.command.trim() === '') {
      throw new ConformanceError('E_USAGE', `--impl cmd:COMMAND: expected a command after 'cmd:', found nothing`, {});
    }
    const tempDir = await mkdtemp(join(tmpdir(), 'conformance-cmd-'));
    if (this.closing) {
      // close() came while the folder was being made: start nothing.
      await rm(tempDir, { recursive: true, force: true });
      throw new ConformanceError('E_ADAPTER_LOAD', `adapter ${this.source} was not started: the runner is shutting down`, { command: this.command });
    }
    this.tempDir = tempDir;
    // Ctrl-C / SIGTERM end the CLI through process.exit: remove the folder on the way out.
    this.untrackTempDir = killOnExit(() => rmSync(tempDir, { recursive: true, force: true }));
    this.capabilities = await this.spawn();
    return this.capabilities;
  }

  private forward(text: string | Buffer): void {
    if (this.output.verbose) this.output.stream.write(text);
  }

  private spawn(): Promise<AdapterCapabilities> {
    this.stderrTail.clear();
    // detached: the shell and everything it starts form one process group, killed together.
    const child =
      this.sandbox === undefined
        ? spawn(this.command, { shell: true, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
        : spawn(
            findBwrap(),
            [
              ...bwrapArgs({ readOnly: [process.cwd(), ...nodeAdapterFolders(process.cwd()), ...this.sandbox.readOnly], writable: [this.tempDir!], hidden: this.sandbox.hidden, cwd: process.cwd() }),
              '/bin/sh',
              '-c',
              this.command,
            ],
            { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
          );
    child.stdin?.on('error', (error: Error) => {
      // EPIPE once the program has exited: its exit is reported by the end handler.
      this.stderrTail.push(`\n[runner: writing to the program's stdin failed: ${error.message}]\n`);
    });
    const stderrLines = new LineForwarder((text) => this.forward(text));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail.push(chunk.toString('utf8'));
      stderrLines.push(chunk);
    });
    child.stderr?.on('close', () => stderrLines.flush());
    let markEnded = (): void => {};
    this.ended = new Promise<void>((resolve) => {
      markEnded = resolve;
    });

    return new Promise<AdapterCapabilities>((resolve, reject) => {
      let loading = true;
      const fail = (message: string): void => {
        if (!loading) return;
        loading = false;
        this.cancelLoading = null;
        clearTimeout(timer);
        this.retired.add(child);
        killProcessGroup(child);
        const tail = this.stderrTail.text().trim();
        reject(new ConformanceError('E_ADAPTER_LOAD', tail === '' ? message : `${message}\nadapter stderr:\n${tail}`, { command: this.command }));
      };
      const timer = setTimeout(() => fail(`adapter ${this.source} did not write its handshake line within ${this.loadTimeoutMs} ms (--load-timeout)`), this.loadTimeoutMs);
      // close() before the handshake: the program is ended, never left running.
      this.cancelLoading = () => fail(`adapter ${this.source}: stopped before its handshake: the runner is shutting down`);

      const onLine = (line: string): void => {
        const value = parseJsonObject(line);
        if (value === null) {
          this.forward(`${line}\n`);
          return;
        }
        if (loading) {
          if (!('protocol' in value)) {
            this.forward(`${line}\n`);
            return;
          }
          if (typeof value.protocol !== 'string' || !COMMAND_PROTOCOLS.includes(value.protocol)) {
            fail(`adapter ${this.source}: handshake "protocol": expected ${COMMAND_PROTOCOLS.map((name) => `"${name}"`).join(' or ')}, found ${describeValue(value.protocol)}`);
            return;
          }
          if (value.forward === true && value.protocol !== COMMAND_PROTOCOL_1_2) {
            fail(`adapter ${this.source}: handshake "forward": true needs "protocol": "${COMMAND_PROTOCOL_1_2}" (forward requests are new in 1.2), found ${describeValue(value.protocol)}`);
            return;
          }
          let capabilities: AdapterCapabilities;
          try {
            capabilities = validateCapabilities(value, this.source, { allowFunction: false });
          } catch (error) {
            fail((error as Error).message);
            return;
          }
          loading = false;
          this.cancelLoading = null;
          clearTimeout(timer);
          this.child = child;
          resolve(capabilities);
          return;
        }
        const head = this.jobs[0];
        if (head !== undefined && head.sentTo === child && value.id === head.id) {
          this.finishHead({ kind: 'line', value, seconds: (performance.now() - head.startedAt) / 1000 });
        } else {
          this.forward(`${line}\n`);
        }
      };
      const onOverlong = (bytes: number): void => {
        const note = `[runner: discarded a stdout line of ${bytes} bytes, longer than the ${MAX_LINE_BYTES}-byte limit of the protocol]\n`;
        this.stderrTail.push(note);
        this.forward(note);
        if (loading) {
          fail(`adapter ${this.source}: wrote a stdout line of ${bytes} bytes before its handshake; protocol lines are at most ${MAX_LINE_BYTES} bytes`);
          return;
        }
        const head = this.jobs[0];
        if (head !== undefined && head.sentTo === child) {
          this.finishHead({ kind: 'failed', message: `the adapter program wrote a stdout line of ${bytes} bytes while computing fixture ${head.id}; protocol lines are at most ${MAX_LINE_BYTES} bytes (the line was discarded)` });
        }
      };
      const splitter = new BoundedLineSplitter(MAX_LINE_BYTES, onLine, onOverlong);
      child.stdout?.on('data', (chunk: Buffer) => splitter.push(chunk));
      child.stdout?.on('end', () => splitter.end());
      child.on('error', (error) => {
        if (loading) fail(`cannot start ${this.source}: ${error.message}`);
      });
      const untrack = killOnExit(() => killProcessGroup(child));
      void watchEnd(child, (code, signal) => {
        untrack();
        if (this.child === child) this.child = null;
        if (loading) {
          fail(`adapter ${this.source}: the program ${describeExit(code, signal)} before writing its handshake line`);
        } else {
          this.onEnded(child, code, signal);
        }
        markEnded();
      });
    });
  }

  /** The program ended: fail the job it computed (unless the runner ended it); the rest go to a fresh one. */
  private onEnded(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const head = this.jobs[0];
    if (head !== undefined && head.sentTo === child && !this.retired.has(child)) {
      const tail = this.stderrTail.text().trim();
      this.finishHead({
        kind: 'failed',
        message: `the adapter program ${describeExit(code, signal)} while computing fixture ${head.id}`,
        detail: tail === '' ? undefined : `adapter stderr:\n${tail}`,
      });
    }
    for (const job of this.jobs) if (job.sentTo === child) job.sentTo = null;
    void this.pump();
  }

  /** Answer the first job and start the clock of the next one (already written to the program). */
  private finishHead(answer: Answer): void {
    const head = this.jobs.shift();
    if (head === undefined) return;
    if (head.timer !== null) clearTimeout(head.timer);
    head.settle(answer);
    this.armHead();
  }

  /** The first job's time limit runs from the moment the program can work on it. */
  private armHead(): void {
    const head = this.jobs[0];
    if (head === undefined || head.timer !== null || head.sentTo === null || head.sentTo !== this.child) return;
    const child = head.sentTo;
    head.startedAt = performance.now();
    head.timer = setTimeout(() => {
      if (this.jobs[0] !== head) return;
      // The program is stuck in this job: end it; the jobs written behind go to a fresh one.
      this.retired.add(child);
      if (this.child === child) this.child = null;
      killProcessGroup(child);
      this.finishHead({ kind: 'timeout' });
    }, head.timeoutMs);
  }

  /** Write every job not yet written to the current program, in order, starting one if needed. */
  private async pump(): Promise<void> {
    while (this.jobs.length > 0 && !this.closing) {
      const child = this.child;
      if (child !== null) {
        for (const job of this.jobs) {
          if (job.sentTo === child) continue;
          job.sentTo = child;
          child.stdin?.write(job.line);
        }
        this.armHead();
        return;
      }
      const ready = await this.ensureChild();
      if (this.closing || ready.ok) continue;
      // As each fixture would: the first fails, the next one tries again.
      const head = this.jobs.shift();
      if (head === undefined) return;
      head.settle({ kind: 'failed', message: ready.message, detail: ready.detail });
    }
  }

  /** The current program, or a fresh one started once the previous one's end has been handled. */
  private ensureChild(): Promise<RestartOutcome> {
    if (this.child !== null) return Promise.resolve({ ok: true });
    return this.restarter.restart();
  }

  async checkSupport(): Promise<SupportResponse> {
    // A cmd: adapter declares flags, and may answer "unsupported" per fixture (protocol 1.1).
    return { kind: 'supported' };
  }

  async run(request: HostRequest): Promise<HostResponse> {
    if (this.closing) return { kind: 'error', message: 'the runner is shutting down' };
    const { meta } = request;
    const prefix = this.requestPrefix();
    const inputs = { x: `${prefix}x.npy`, w: `${prefix}w.npy`, dy: `${prefix}dy.npy` };
    const outputPaths: Partial<Record<OutputName, string>> = {};
    for (const name of OUTPUT_NAMES) if (request.expected[name] !== undefined) outputPaths[name] = `${prefix}${name}.npy`;
    try {
      const taken = this.writeInputs(`fixture ${meta.id}`, INPUT_NAMES.map((name) => [inputs[name], request[name]]));
      if (taken !== null) return taken;
      const shapes: Record<string, number[]> = { x: request.x.shape, w: request.w.shape, dy: request.dy.shape };
      for (const name of OUTPUT_NAMES) {
        const expected = request.expected[name];
        if (expected !== undefined) shapes[name] = expected.shape;
      }
      const answer = await this.submit(request, { type: 'backward', dtype: meta.dtype, shapes, inputs, outputs: outputPaths });
      if (answer.kind === 'timeout') return { kind: 'timeout' };
      if (answer.kind === 'failed') return { kind: 'error', message: answer.message, detail: answer.detail };
      return await this.readAnswer(meta.id, answer.value, answer.seconds, request, outputPaths);
    } finally {
      this.remove([...Object.values(inputs), ...Object.values(outputPaths)]);
    }
  }

  /** A forward request (protocol 1.2): written, queued and answered like a backward request; y read from its .npy file. */
  async runForward(request: HostForwardRequest): Promise<HostForwardResponse> {
    if (this.closing) return { kind: 'error', message: 'the runner is shutting down' };
    const { meta } = request;
    const prefix = this.requestPrefix();
    const inputs: Record<string, string> = { x: `${prefix}x.npy`, w: `${prefix}w.npy` };
    const written: [string, Tensor][] = [
      [inputs.x, request.x],
      [inputs.w, request.w],
    ];
    const shapes: Record<string, number[]> = { x: request.x.shape, w: request.w.shape, y: request.expected.shape };
    if (request.b !== undefined) {
      inputs.b = `${prefix}b.npy`;
      written.push([inputs.b, request.b]);
      shapes.b = request.b.shape;
    }
    const yPath = `${prefix}y.npy`;
    try {
      const taken = this.writeInputs(`the forward of ${meta.id}`, written);
      if (taken !== null) return taken;
      const answer = await this.submit(request, { type: 'forward', dtype: request.expected.dtype, shapes, inputs, outputs: { y: yPath } });
      if (answer.kind === 'timeout') return { kind: 'timeout' };
      if (answer.kind === 'failed') return { kind: 'error', message: answer.message, detail: answer.detail };
      const reply = answer.value;
      const adapterSeconds = reportedSeconds(reply, answer.seconds);
      const refused = refusal(reply, `forward answer for ${meta.id}: expected "ok": true or false`);
      if (refused !== null) return { kind: 'error', message: refused, adapterSeconds };
      const y = await this.readOutput('y', yPath, request.expected, `the forward of ${meta.id}`);
      return y.kind === 'ok' ? { kind: 'ok', y: y.tensor, adapterSeconds } : { kind: 'error', message: y.message, adapterSeconds };
    } finally {
      this.remove([...Object.values(inputs), yPath]);
    }
  }

  /**
   * Where a request's files go: the run's private folder, under a sequence number and a random
   * part no one (the program included) can guess. A folder per request cost a mkdir and an rmdir
   * per fixture, the largest part of the runner's share.
   */
  private requestPrefix(): string {
    return join(this.tempDir!, `${++this.sequence}-${randomBytes(6).toString('hex')}-`);
  }

  /**
   * Write a request's input files, each created exclusively ('wx': a file or link already at the
   * name is never written through). Only someone who can write in the run's folder (the program)
   * can have taken a name first: that is an error for this request, returned; other errors throw.
   * Synchronous: a few small files, cheaper than thread-pool round trips.
   */
  private writeInputs(what: string, files: readonly (readonly [string, Tensor])[]): { kind: 'error'; message: string } | null {
    try {
      for (const [path, tensor] of files) writeFileSync(path, writeNpy(tensor, path), { flag: 'wx' });
      return null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return { kind: 'error', message: `an input file of ${what} already existed in the runner's temporary folder before the runner wrote it: ${(error as Error).message}` };
    }
  }

  /** Queue one request line (the fixture's id, params and the declared layouts, plus `fields`) and wait for its answer. */
  private submit(request: { meta: FixtureMeta; timeoutMs: number }, fields: { type: 'backward' | 'forward'; dtype: string; shapes: Record<string, number[]>; inputs: Record<string, string>; outputs: Record<string, string> }): Promise<Answer> {
    const { meta } = request;
    const line = `${JSON.stringify({
      type: fields.type,
      id: meta.id,
      dtype: fields.dtype,
      params: meta.params,
      layout: this.capabilities!.layout,
      filterLayout: this.capabilities!.filterLayout,
      shapes: fields.shapes,
      inputs: fields.inputs,
      outputs: fields.outputs,
    })}\n`;
    return new Promise<Answer>((resolve) => {
      this.jobs.push({ id: meta.id, line, timeoutMs: request.timeoutMs, settle: resolve, sentTo: null, timer: null, startedAt: performance.now() });
      void this.pump();
    });
  }

  /** One output file the program wrote, read (Fortran order and big-endian converted) and checked against its expected dtype and shape. */
  private async readOutput(name: ScoredName, path: string, expected: ExpectedOutput, what: string): Promise<{ kind: 'ok'; tensor: Tensor } | { kind: 'error'; message: string }> {
    let tensor: Tensor;
    try {
      tensor = await readNpyFile(path, { convert: true, expected: { ...expected, what: `the expected ${name}` } });
    } catch (error) {
      return { kind: 'error', message: `the adapter answered ok for ${what} but ${name} could not be read: ${(error as Error).message}` };
    }
    try {
      return { kind: 'ok', tensor: checkOutputTensor(name, tensor, expected) };
    } catch (error) {
      return { kind: 'error', message: `${(error as Error).message} (in ${path})` };
    }
  }

  /**
   * Remove a request's files in the background (the thread pool's unlinks, off the runner's
   * thread); whatever is left, or is not removable, goes with the run's folder at close.
   */
  private remove(paths: string[]): void {
    const removal = Promise.all(paths.map((path) => rm(path, { force: true }))).then(
      () => undefined,
      (error: unknown) => {
        this.stderrTail.push(`\n[runner: a temporary file could not be removed (${(error as Error).message}); it goes with the run's folder at close]\n`);
      },
    );
    this.removals.add(removal);
    void removal.then(() => this.removals.delete(removal));
  }

  /** Turn an answer line into a response: the outputs read and checked, or the program's own error or refusal. */
  private async readAnswer(
    id: string,
    reply: Record<string, unknown>,
    roundTrip: number,
    request: HostRequest,
    outputPaths: Partial<Record<OutputName, string>>,
  ): Promise<HostResponse> {
    const adapterSeconds = reportedSeconds(reply, roundTrip);
    if ('unsupported' in reply) {
      const reason = reply.unsupported;
      if (typeof reason !== 'string' || reason.trim() === '') {
        return { kind: 'error', message: `answer for ${id}: "unsupported": expected a non-empty reason string, found ${describeValue(reason)}`, adapterSeconds };
      }
      return { kind: 'unsupported', reason: reason.trim(), adapterSeconds };
    }
    const refused = refusal(reply, `answer for ${id}: expected "ok": true or false, or "unsupported": "reason"`);
    if (refused !== null) return { kind: 'error', message: refused, adapterSeconds };
    const outputs: Partial<Record<OutputName, Tensor>> = {};
    for (const name of OUTPUT_NAMES) {
      const expected = request.expected[name];
      const path = outputPaths[name];
      if (expected === undefined || path === undefined) continue;
      const read = await this.readOutput(name, path, expected, id);
      if (read.kind === 'error') return { kind: 'error', message: read.message, adapterSeconds };
      outputs[name] = read.tensor;
    }
    return { kind: 'ok', outputs, adapterSeconds, notes: [] };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.cancelLoading?.();
    for (const job of this.jobs.splice(0)) {
      if (job.timer !== null) clearTimeout(job.timer);
      job.settle({ kind: 'failed', message: 'the runner is shutting down' });
    }
    await this.restarter.pending;
    const child = this.child;
    this.child = null;
    if (child !== null) {
      this.retired.add(child);
      if (child.stdin?.writable) {
        child.stdin.write(`${JSON.stringify({ type: 'shutdown' })}\n`);
        child.stdin.end();
      }
      const timer = setTimeout(() => killProcessGroup(child), SHUTDOWN_GRACE_MS);
      await this.ended;
      clearTimeout(timer);
    }
    await this.ended;
    await Promise.all(this.removals);
    if (this.tempDir !== null) {
      await rm(this.tempDir, { recursive: true, force: true });
      this.tempDir = null;
      this.untrackTempDir();
    }
  }
}

function parseJsonObject(line: string): Record<string, unknown> | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
