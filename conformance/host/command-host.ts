/**
 * `cmd:` adapters: a program in any language, started once and spoken to over
 * stdin/stdout, one JSON object per line (protocol conv2d-backward-conformance/1).
 *
 *   program -> runner (first):  {"protocol": "conv2d-backward-conformance/1", "name": "...",
 *                                "layout": "NCHW", "filterLayout": "OIHW", "dtypes": ["float32"],
 *                                "supports": {"groups": true, "dilation": true, "asymmetricPads": true},
 *                                "outputs": ["dx", "dw", "db"]}            (all but protocol and name optional)
 *   runner -> program (each):   {"type": "backward", "id": "...", "dtype": "float32", "params": {...},
 *                                "layout": "NCHW", "filterLayout": "OIHW",
 *                                "shapes": {"x": [...], "w": [...], "dy": [...], "dx": [...], ...},
 *                                "inputs": {"x": "/tmp/.../x.npy", "w": ..., "dy": ...},
 *                                "outputs": {"dx": "/tmp/.../dx.npy", ...}}   (only declared outputs)
 *   program -> runner:          {"id": "...", "ok": true}  after writing every output file, or
 *                                {"id": "...", "ok": false, "error": "..."}; optional "seconds" (time computing)
 *   runner -> program (last):   {"type": "shutdown"}   then stdin closes.
 * Inputs are .npy files already in the declared layouts; outputs must be .npy in the same
 * layouts and the fixture's dtype. stdout lines that are not JSON objects are ignored
 * (and forwarded to stderr with --verbose), so the program may print freely.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { ConformanceError, describeValue } from '../../src/errors.js';
import { readNpyFile, writeNpy } from '../../src/npy.js';
import { OUTPUT_NAMES, type AdapterCapabilities, type OutputName, type Tensor } from '../../src/types.js';
import { describeExit, killOnExit, OutputTail, watchEnd, type AdapterHost, type HostOutput, type HostRequest, type HostResponse, type SupportResponse } from './adapter-host.js';
import { validateCapabilities } from './capabilities.js';
import { checkOutputTensor } from './result-check.js';

export const COMMAND_PROTOCOL = 'conv2d-backward-conformance/1';

const SHUTDOWN_GRACE_MS = 5000;

type Answer = { kind: 'line'; value: Record<string, unknown>; seconds: number } | { kind: 'failed'; message: string; detail?: string } | { kind: 'timeout' };

export class CommandHost implements AdapterHost {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private pending: { id: string; settle: (answer: Answer) => void } | null = null;
  private readonly stderrTail = new OutputTail();
  private tempDir: string | null = null;
  private sequence = 0;
  private capabilities: AdapterCapabilities | null = null;

  /**
   * @param command the shell command (what follows `cmd:`)
   * @param loadTimeoutMs how long the program may take to write its handshake
   */
  constructor(
    private readonly command: string,
    private readonly output: HostOutput,
    private readonly loadTimeoutMs: number,
  ) {}

  private get source(): string {
    return `cmd:${this.command}`;
  }

  async start(): Promise<AdapterCapabilities> {
    if (this.command.trim() === '') {
      throw new ConformanceError('E_USAGE', `--impl cmd:COMMAND: expected a command after 'cmd:', found nothing`, {});
    }
    this.tempDir = await mkdtemp(join(tmpdir(), 'conformance-cmd-'));
    this.capabilities = await this.spawn();
    return this.capabilities;
  }

  private spawn(): Promise<AdapterCapabilities> {
    this.stderrTail.clear();
    // detached: the shell and everything it starts form one process group, killed together.
    const child = spawn(this.command, { shell: true, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child = child;
    child.stdin?.on('error', (error: Error) => {
      // EPIPE once the program has exited: its exit is reported by the 'exit' handler.
      this.stderrTail.push(`\n[runner: writing to the program's stdin failed: ${error.message}]\n`);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail.push(chunk.toString('utf8'));
      if (this.output.verbose) this.output.stream.write(chunk);
    });
    const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });

    return new Promise<AdapterCapabilities>((resolve, reject) => {
      let loading = true;
      const fail = (message: string): void => {
        if (!loading) return;
        loading = false;
        clearTimeout(timer);
        this.kill(child);
        const tail = this.stderrTail.text().trim();
        reject(new ConformanceError('E_ADAPTER_LOAD', tail === '' ? message : `${message}\nadapter stderr:\n${tail}`, { command: this.command }));
      };
      const timer = setTimeout(() => fail(`adapter ${this.source} did not write its handshake line within ${this.loadTimeoutMs} ms`), this.loadTimeoutMs);

      lines.on('line', (line: string) => {
        const value = parseJsonObject(line);
        if (value === null) {
          if (this.output.verbose) this.output.stream.write(`${line}\n`);
          return;
        }
        if (loading) {
          if (!('protocol' in value)) {
            if (this.output.verbose) this.output.stream.write(`${line}\n`);
            return;
          }
          if (value.protocol !== COMMAND_PROTOCOL) {
            fail(`adapter ${this.source}: handshake "protocol": expected "${COMMAND_PROTOCOL}", found ${describeValue(value.protocol)}`);
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
          clearTimeout(timer);
          resolve(capabilities);
          return;
        }
        const pending = this.pending;
        if (pending !== null && value.id === pending.id) {
          this.settle({ kind: 'line', value, seconds: 0 });
        } else if (this.output.verbose) {
          this.output.stream.write(`${line}\n`);
        }
      });
      child.on('error', (error) => {
        if (loading) fail(`cannot start ${this.source}: ${error.message}`);
        else this.settle({ kind: 'failed', message: `the adapter program failed: ${error.message}` });
      });
      const untrack = killOnExit(() => this.kill(child));
      this.exited = watchEnd(child, (code, signal) => {
        untrack();
        if (this.child === child) this.child = null;
        if (loading) {
          fail(`adapter ${this.source}: the program ${describeExit(code, signal)} before writing its handshake line`);
          return;
        }
        const tail = this.stderrTail.text().trim();
        const fixture = this.pending?.id ?? '';
        this.settle({
          kind: 'failed',
          message: `the adapter program ${describeExit(code, signal)} while computing fixture ${fixture}`,
          detail: tail === '' ? undefined : `adapter stderr:\n${tail}`,
        });
      });
    });
  }

  private settle(answer: Answer): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    pending.settle(answer);
  }

  private kill(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (error) {
      // ESRCH: the group is already gone; anything else: fall back to the process itself.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') child.kill('SIGKILL');
    }
  }

  async checkSupport(): Promise<SupportResponse> {
    // A cmd: adapter declares flags only; the runner decides from them.
    return { kind: 'supported' };
  }

  async run(request: HostRequest): Promise<HostResponse> {
    if (this.child === null) {
      try {
        await this.spawn();
      } catch (error) {
        const [first, ...rest] = (error as Error).message.split('\n');
        return { kind: 'error', message: `the adapter program could not be restarted after it ended: ${first}`, detail: rest.join('\n') || undefined };
      }
    }
    const child = this.child!;
    const { meta } = request;
    const folder = join(this.tempDir!, `${++this.sequence}`);
    await mkdir(folder);
    try {
      const inputs = { x: join(folder, 'x.npy'), w: join(folder, 'w.npy'), dy: join(folder, 'dy.npy') };
      await writeFile(inputs.x, writeNpy(request.x, inputs.x));
      await writeFile(inputs.w, writeNpy(request.w, inputs.w));
      await writeFile(inputs.dy, writeNpy(request.dy, inputs.dy));
      const outputPaths: Partial<Record<OutputName, string>> = {};
      const shapes: Record<string, number[]> = { x: request.x.shape, w: request.w.shape, dy: request.dy.shape };
      for (const name of OUTPUT_NAMES) {
        const expected = request.expected[name];
        if (expected === undefined) continue;
        outputPaths[name] = join(folder, `${name}.npy`);
        shapes[name] = expected.shape;
      }
      const line = JSON.stringify({
        type: 'backward',
        id: meta.id,
        dtype: meta.dtype,
        params: meta.params,
        layout: this.capabilities!.layout,
        filterLayout: this.capabilities!.filterLayout,
        shapes,
        inputs,
        outputs: outputPaths,
      });
      const start = performance.now();
      const answer = await new Promise<Answer>((resolve) => {
        const timer = setTimeout(() => this.settle({ kind: 'timeout' }), request.timeoutMs);
        this.pending = {
          id: meta.id,
          settle: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
        };
        child.stdin!.write(`${line}\n`);
      });
      const roundTrip = (performance.now() - start) / 1000;
      if (answer.kind !== 'line') {
        this.kill(child);
        await this.exited;
        if (this.child === child) this.child = null;
        return answer.kind === 'timeout' ? { kind: 'timeout' } : { kind: 'error', message: answer.message, detail: answer.detail };
      }
      const reply = answer.value;
      const reported = reply.seconds;
      const adapterSeconds = typeof reported === 'number' && Number.isFinite(reported) && reported >= 0 ? reported : roundTrip;
      if (reply.ok === false) {
        const text = typeof reply.error === 'string' && reply.error !== '' ? reply.error : describeValue(reply.error);
        return { kind: 'error', message: `the adapter reported an error: ${text}`, adapterSeconds };
      }
      if (reply.ok !== true) {
        return { kind: 'error', message: `answer for ${meta.id}: expected "ok": true or false, found ${describeValue(reply.ok)}`, adapterSeconds };
      }
      const outputs: Partial<Record<OutputName, Tensor>> = {};
      for (const name of OUTPUT_NAMES) {
        const expected = request.expected[name];
        const path = outputPaths[name];
        if (expected === undefined || path === undefined) continue;
        let tensor: Tensor;
        try {
          tensor = await readNpyFile(path, { convert: true, expected: { ...expected, what: `the expected ${name}` } });
        } catch (error) {
          return { kind: 'error', message: `the adapter answered ok for ${meta.id} but ${name} could not be read: ${(error as Error).message}`, adapterSeconds };
        }
        try {
          outputs[name] = checkOutputTensor(name, tensor, expected);
        } catch (error) {
          return { kind: 'error', message: `${(error as Error).message} (in ${path})`, adapterSeconds };
        }
      }
      return { kind: 'ok', outputs, adapterSeconds, notes: [] };
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    this.settle({ kind: 'failed', message: 'the runner is shutting down' });
    if (child !== null) {
      if (child.stdin?.writable) {
        child.stdin.write(`${JSON.stringify({ type: 'shutdown' })}\n`);
        child.stdin.end();
      }
      const timer = setTimeout(() => this.kill(child), SHUTDOWN_GRACE_MS);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.tempDir !== null) {
      await rm(this.tempDir, { recursive: true, force: true });
      this.tempDir = null;
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

