/**
 * Hosts an adapter in a page of headless Chromium (`--impl browser:./kernel.js`),
 * where WebGPU is available (through SwiftShader on a machine without a GPU).
 *
 *  - The adapter module is bundled with esbuild (relative and bare imports
 *    resolved from the adapter's own folder and node_modules) into one ES module;
 *    the harness script (./browser/harness.ts) is bundled the same way.
 *  - A loopback HTTP server (127.0.0.1, ephemeral port) serves only those two
 *    bundles, the harness page, and the current fixture's tensors (raw bytes, at a
 *    random per-fixture URL), and receives the outputs (raw bytes). It stops with the run.
 *  - Chromium is driven with playwright-core, which never downloads a browser:
 *    it starts the one found by findBrowser() (--browser, $CHROME_PATH, system paths).
 *  - Isolation: anything but a clean answer (a thrown error or rejected promise, an
 *    uncaught error or unhandled rejection, a timeout, a crashed renderer, a lost
 *    WebGPU device, a navigation or window.close(), a malformed result) is an error or
 *    timeout for that fixture, and the page is discarded: the next fixture runs in a
 *    fresh page, in a fresh browser context. A page that does not finish loading
 *    in time is an error for the fixture that needed it.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ConformanceError } from '../../src/errors.js';
import type { AdapterCapabilities, Dtype, FixtureMeta, OutputName, Tensor, TensorData } from '../../src/types.js';
import { OUTPUT_NAMES } from '../../src/types.js';
import type { AdapterHost, HostForwardRequest, HostForwardResponse, HostOutput, HostRequest, HostResponse, SupportResponse } from './adapter-host.js';
import { validateCapabilities, type DeclaredCapabilities } from './capabilities.js';
import { checkOutputTensor } from './result-check.js';
import { FATAL_BINDING, HARNESS_GLOBAL, type BrowserJob, type ForwardAnswer, type ForwardJob, type HarnessApi, type LoadAnswer, type RunAnswer, type SupportsPageAnswer, type WireTensorSpec } from './browser/wire.js';

/** Chromium flags: WebGPU without a GPU (SwiftShader's Vulkan), and no network traffic of its own. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Extra Chromium flags, space-separated (e.g. to use a real GPU, or to limit the page's memory in tests). */
export const BROWSER_FLAGS_ENV = 'CONFORMANCE_BROWSER_FLAGS';

/** Where Chromium or Chrome usually is, tried in order after --browser and $CHROME_PATH. */
export const SYSTEM_BROWSER_PATHS: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

const INSTALL_ADVICE = 'install Chromium (Debian/Ubuntu: `apt-get install -y chromium`), or pass --browser PATH or set CHROME_PATH';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    // Not there, or not executable: not a candidate (the caller reports what it tried).
    return false;
  }
}

/**
 * The browser to start: `explicit` (--browser) if given, else $CHROME_PATH, else the
 * first of SYSTEM_BROWSER_PATHS that is an executable file. Throws E_USAGE (exit 2)
 * saying what to install when none is found, or naming the bad --browser / $CHROME_PATH.
 */
export function findBrowser(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = SYSTEM_BROWSER_PATHS): string {
  if (explicit !== undefined) {
    if (!isExecutableFile(explicit)) throw new ConformanceError('E_USAGE', `--browser: ${explicit} is not an executable file; ${INSTALL_ADVICE}`, { browser: explicit });
    return explicit;
  }
  const fromEnv = env.CHROME_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutableFile(fromEnv)) throw new ConformanceError('E_USAGE', `CHROME_PATH: ${fromEnv} is not an executable file; ${INSTALL_ADVICE}`, { browser: fromEnv });
    return fromEnv;
  }
  const found = candidates.find(isExecutableFile);
  if (found === undefined) {
    throw new ConformanceError('E_USAGE', `browser: no Chromium or Chrome found (tried --browser, $CHROME_PATH, ${candidates.join(', ')}); ${INSTALL_ADVICE}`, {
      tried: [...candidates],
    });
  }
  return found;
}

/** The harness entry, next to this file (.js after the build, .ts when run from the sources). */
function harnessEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const extension = here.endsWith('.ts') ? '.ts' : '.js';
  return join(dirname(here), 'browser', `harness${extension}`);
}

const HARNESS_HTML = '<!doctype html><html><head><meta charset="utf-8"><title>conformance harness</title></head><body><script type="module" src="/harness.js"></script></body></html>';

/** Bundle one entry into a single ES module for the page (esbuild resolves relative and bare imports from its folder). */
export async function bundleForBrowser(entry: string, what: string): Promise<string> {
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      write: false,
      logLevel: 'silent',
      sourcemap: 'inline',
      absWorkingDir: dirname(entry),
    });
    return result.outputFiles[0].text;
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    const lines = Array.isArray(errors)
      ? errors.map((item) => `  - ${item.location ? `${item.location.file}:${item.location.line}:${item.location.column}: ` : ''}${item.text}`)
      : [`  - ${(error as Error).message}`];
    throw new ConformanceError('E_ADAPTER_LOAD', `cannot bundle ${what} ${entry} for the browser (esbuild):\n${lines.join('\n')}`, { entry });
  }
}

/** One fixture's bytes, waiting to be fetched, and the outputs once posted. */
interface PendingJob {
  inputs: Buffer;
  outputs: Buffer | null;
}

/** The loopback server: the harness page, two bundles, and the current job's tensors. Nothing else. */
class LoopbackServer {
  private server: Server | null = null;
  readonly jobs = new Map<string, PendingJob>();
  origin = '';

  constructor(private readonly files: { harness: string; adapter: string }) {}

  async start(): Promise<void> {
    const server = createServer((request, response) => this.handle(request, response));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '/';
    const path = url.split('?')[0];
    const send = (status: number, type: string, body: string | Buffer): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method === 'GET' && path === '/harness.html') return send(200, 'text/html; charset=utf-8', HARNESS_HTML);
    if (request.method === 'GET' && path === '/harness.js') return send(200, 'text/javascript; charset=utf-8', this.files.harness);
    if (request.method === 'GET' && path === '/adapter.js') return send(200, 'text/javascript; charset=utf-8', this.files.adapter);
    const match = /^\/job\/([0-9a-f]{32})\/(inputs|outputs)$/.exec(path);
    const job = match === null ? undefined : this.jobs.get(match[1]);
    if (match !== null && job !== undefined) {
      if (request.method === 'GET' && match[2] === 'inputs') return send(200, 'application/octet-stream', job.inputs);
      if (request.method === 'POST' && match[2] === 'outputs') {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          job.outputs = Buffer.concat(chunks);
          send(200, 'text/plain', 'ok');
        });
        return;
      }
    }
    send(404, 'text/plain', 'not found');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Why a page can no longer be used, as the fixture's error message says it. */
type PageEnd = { message: string; detail?: string };

type PlaywrightBrowser = import('playwright-core').Browser;
type PlaywrightContext = import('playwright-core').BrowserContext;
type PlaywrightPage = import('playwright-core').Page;

/** A page with the adapter loaded, and how it ended (set once). */
interface LivePage {
  context: PlaywrightContext;
  page: PlaywrightPage;
  /** Resolves with the reason when the page can no longer be used. */
  ended: Promise<PageEnd>;
  end: (reason: PageEnd) => void;
  isEnded: () => boolean;
}

const CLOSE_GRACE_MS = 5000;
/** After a call into the page fails, how long to wait for the page's end event that explains it. */
const END_SETTLE_MS = 1000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface BrowserHostOptions {
  /** --browser; else $CHROME_PATH; else the usual system paths. */
  browser?: string;
  /**
   * How long a page may take to start (context, harness, adapter import and init()) and
   * Chromium to launch, in ms: the run's --load-timeout, the start-up limit of every host.
   */
  loadTimeoutMs: number;
}

/** Timings of the host, for the bench: each page's start-up apart from the fixtures. */
export interface BrowserHostTimings {
  /** Seconds to bundle the harness and the adapter. */
  bundleSeconds: number;
  /** Seconds to launch Chromium. */
  launchSeconds: number;
  /** Seconds per page start-up (new context, harness page, adapter import and init()), the browser's launch not included. */
  pageSeconds: number[];
}

export class BrowserHost implements AdapterHost {
  readonly maxInFlight = 1;
  readonly timings: BrowserHostTimings = { bundleSeconds: 0, launchSeconds: 0, pageSeconds: [] };
  private server: LoopbackServer | null = null;
  private browser: PlaywrightBrowser | null = null;
  private live: LivePage | null = null;
  private pageCount = 0;
  private closing = false;
  private executablePath = '';

  /**
   * @param modulePath absolute path of the adapter module (bundled for the page)
   * @param source how the user named it (for messages)
   */
  constructor(
    private readonly modulePath: string,
    private readonly source: string,
    private readonly output: HostOutput,
    private readonly options: BrowserHostOptions,
  ) {}

  async start(): Promise<AdapterCapabilities> {
    if (!existsSync(this.modulePath)) {
      throw new ConformanceError('E_ADAPTER_LOAD', `adapter module not found: ${this.modulePath} (from --impl ${this.source})`, { path: this.modulePath });
    }
    if (!statSync(this.modulePath).isFile()) {
      throw new ConformanceError('E_ADAPTER_LOAD', `adapter module ${this.modulePath} (from --impl ${this.source}) is not a file`, { path: this.modulePath });
    }
    this.executablePath = findBrowser(this.options.browser);
    const bundleStart = performance.now();
    const [harness, adapter] = await Promise.all([bundleForBrowser(harnessEntry(), 'the harness'), bundleForBrowser(this.modulePath, 'adapter')]);
    this.timings.bundleSeconds = (performance.now() - bundleStart) / 1000;
    this.stopIfClosing();
    this.server = new LoopbackServer({ harness, adapter });
    await this.server.start();
    this.stopIfClosing();
    const opened = await this.openPage();
    if (!opened.ok) {
      throw new ConformanceError('E_ADAPTER_LOAD', [`cannot load adapter ${this.source} in the browser: ${opened.message}`, opened.detail].filter(Boolean).join('\n'), {
        source: this.source,
      });
    }
    return validateCapabilities(opened.declared, this.source, { allowFunction: true });
  }

  /** close() came while start() was under way: start nothing more (what was made is closed by the runner's second close()). */
  private stopIfClosing(): void {
    if (this.closing) throw new ConformanceError('E_ADAPTER_LOAD', `adapter ${this.source} was not started: the runner is shutting down`, { source: this.source });
  }

  private async launch(): Promise<PlaywrightBrowser> {
    if (this.browser !== null && this.browser.isConnected()) return this.browser;
    const { chromium } = await import('playwright-core');
    const extra = (process.env[BROWSER_FLAGS_ENV] ?? '').split(/\s+/).filter((flag) => flag !== '');
    const launchStart = performance.now();
    try {
      this.browser = await chromium.launch({
        executablePath: this.executablePath,
        headless: true,
        args: [...CHROMIUM_FLAGS, ...extra],
        timeout: this.options.loadTimeoutMs,
      });
    } catch (error) {
      throw new ConformanceError('E_ADAPTER_LOAD', `cannot start the browser ${this.executablePath}: ${(error as Error).message}`, { browser: this.executablePath });
    }
    this.timings.launchSeconds += (performance.now() - launchStart) / 1000;
    return this.browser;
  }

  /** A fresh context and page with the harness and the adapter loaded; returns the declared capabilities. */
  private async openPage(): Promise<{ ok: true; declared: DeclaredCapabilities } | { ok: false; message: string; detail?: string }> {
    const browser = await this.launch();
    this.stopIfClosing();
    const pageStart = performance.now();
    const pageNumber = ++this.pageCount;
    const context = await browser.newContext();
    const page = await context.newPage();
    let endReason: PageEnd | null = null;
    let resolveEnded: (reason: PageEnd) => void = () => {};
    const ended = new Promise<PageEnd>((resolve) => {
      resolveEnded = resolve;
    });
    const end = (reason: PageEnd): void => {
      if (endReason !== null) return;
      endReason = reason;
      resolveEnded(reason);
    };
    const live: LivePage = { context, page, ended, end, isEnded: () => endReason !== null };
    const harnessUrl = `${this.server!.origin}/harness.html?page=${pageNumber}`;
    page.on('crash', () => end({ message: 'the page crashed (the renderer process ended)' }));
    page.on('close', () => end({ message: 'the page was closed (window.close() or the browser ended it)' }));
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && frame.url() !== harnessUrl) end({ message: `the page navigated away from the harness to ${frame.url()}` });
    });
    page.on('pageerror', (error) => end({ message: `uncaught exception in the page: ${error.message}`, detail: error.stack }));
    page.on('console', (message) => {
      if (this.output.verbose) this.output.stream.write(`[browser ${message.type()}] ${message.text()}\n`);
    });
    browser.once('disconnected', () => end({ message: 'the browser process ended' }));
    await page.exposeFunction(FATAL_BINDING, (message: unknown, stack: unknown) => {
      end({ message: typeof message === 'string' ? message : 'the page reported an error', detail: typeof stack === 'string' ? stack : undefined });
    });
    const load = (async (): Promise<LoadAnswer> => {
      await page.goto(harnessUrl, { waitUntil: 'load', timeout: 0 });
      await page.waitForFunction((name) => name in window, HARNESS_GLOBAL, { timeout: 0 });
      return page.evaluate((name) => (window as unknown as Record<string, HarnessApi>)[name].load(), HARNESS_GLOBAL);
    })();
    const outcome = await this.race(load, live, this.options.loadTimeoutMs);
    if (outcome.kind === 'ended' || outcome.kind === 'timeout' || outcome.kind === 'failed') {
      void load.catch(() => undefined);
      await this.discard(live);
      const why =
        outcome.kind === 'timeout'
          ? { message: `the page did not finish loading (harness, adapter import and init()) within ${this.options.loadTimeoutMs} ms (--load-timeout)` }
          : outcome.kind === 'ended'
            ? outcome.reason
            : { message: outcome.message };
      return { ok: false, ...why };
    }
    const answer = outcome.value;
    if (answer.kind === 'load-error') {
      await this.discard(live);
      return { ok: false, message: answer.message, detail: answer.stack };
    }
    this.timings.pageSeconds.push((performance.now() - pageStart) / 1000);
    this.live = live;
    if (this.output.verbose && answer.gpu !== null) this.output.stream.write(`[browser] WebGPU adapter: ${answer.gpu}\n`);
    return { ok: true, declared: answer.declared };
  }

  /** Wait for `work`, the page's end, or the time limit, whichever comes first. */
  private async race<T>(
    work: Promise<T>,
    live: LivePage,
    timeoutMs: number,
  ): Promise<{ kind: 'value'; value: T } | { kind: 'ended'; reason: PageEnd } | { kind: 'timeout' } | { kind: 'failed'; message: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ kind: 'timeout' }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
    });
    try {
      return await Promise.race([
        work.then(
          (value) => ({ kind: 'value' as const, value }),
          async (error: unknown) => {
            // The call fails as the page ends (a navigation destroys its context before the
            // navigation event arrives): the page's end, when it follows shortly, says why.
            const reason = await Promise.race([live.ended, delay(END_SETTLE_MS).then(() => null)]);
            return reason !== null ? { kind: 'ended' as const, reason } : { kind: 'failed' as const, message: (error as Error).message };
          },
        ),
        live.ended.then((reason) => ({ kind: 'ended' as const, reason })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Close a page's context; if the browser does not manage that in time (a hung renderer), restart the browser. */
  private async discard(live: LivePage): Promise<void> {
    if (this.live === live) this.live = null;
    live.end({ message: 'the page was discarded' });
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      live.context.close().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), CLOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!closed && this.browser !== null) {
      const browser = this.browser;
      this.browser = null;
      await browser.close().catch(() => undefined);
    }
  }

  /** The page to use: the current one, or a fresh one. */
  private async currentPage(): Promise<{ ok: true; live: LivePage } | { ok: false; message: string; detail?: string }> {
    if (this.live !== null && !this.live.isEnded()) return { ok: true, live: this.live };
    if (this.live !== null) await this.discard(this.live);
    if (this.closing) return { ok: false, message: 'the runner is shutting down' };
    let opened: Awaited<ReturnType<BrowserHost['openPage']>>;
    try {
      opened = await this.openPage();
    } catch (error) {
      opened = { ok: false, message: (error as Error).message };
    }
    if (!opened.ok) return { ok: false, message: `a fresh page could not be started: ${opened.message}`, detail: opened.detail };
    return { ok: true, live: this.live! };
  }

  async checkSupport(meta: FixtureMeta, timeoutMs: number): Promise<SupportResponse> {
    const current = await this.currentPage();
    if (!current.ok) return { kind: 'error', message: current.message, detail: current.detail };
    const { live } = current;
    const work = live.page.evaluate(
      ([name, fixture]) => (window as unknown as Record<string, HarnessApi>)[name].supports(fixture),
      [HARNESS_GLOBAL, meta] as [string, FixtureMeta],
    );
    const outcome = await this.race<SupportsPageAnswer>(work, live, timeoutMs);
    if (outcome.kind !== 'value') {
      void work.catch(() => undefined);
      await this.discard(live);
      if (outcome.kind === 'timeout') return { kind: 'timeout' };
      const reason = outcome.kind === 'ended' ? outcome.reason : { message: outcome.message };
      return { kind: 'error', message: `${reason.message} while asking supports() about fixture ${meta.id}`, detail: reason.detail };
    }
    const answer = outcome.value;
    if (answer.kind === 'error') return { kind: 'error', message: answer.message, detail: answer.stack };
    return answer;
  }

  async run(request: HostRequest): Promise<HostResponse> {
    const { meta } = request;
    const current = await this.currentPage();
    if (!current.ok) return { kind: 'error', message: `${current.message} (for fixture ${meta.id})`, detail: current.detail };
    const { live } = current;
    const server = this.server!;
    const token = randomBytes(16).toString('hex');
    const spec = (tensor: Tensor): WireTensorSpec => ({ dtype: tensor.dtype, shape: [...tensor.shape], byteLength: tensor.data.byteLength });
    const bytes = (tensor: Tensor): Buffer => Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    server.jobs.set(token, { inputs: Buffer.concat([bytes(request.x), bytes(request.w), bytes(request.dy)]), outputs: null });
    const job: BrowserJob = { token, id: meta.id, params: meta.params, x: spec(request.x), w: spec(request.w), dy: spec(request.dy), expected: request.expected };
    try {
      const work = live.page.evaluate(([name, wire]) => (window as unknown as Record<string, HarnessApi>)[name].run(wire), [HARNESS_GLOBAL, job] as [string, BrowserJob]);
      const outcome = await this.race<RunAnswer>(work, live, request.timeoutMs);
      if (outcome.kind !== 'value') {
        void work.catch(() => undefined);
        await this.discard(live);
        if (outcome.kind === 'timeout') return { kind: 'timeout' };
        const reason = outcome.kind === 'ended' ? outcome.reason : { message: `the page stopped answering: ${outcome.message}` };
        return { kind: 'error', message: `${reason.message} while computing fixture ${meta.id}`, detail: reason.detail };
      }
      const answer = outcome.value;
      if (answer.kind === 'error') {
        // The adapter's state is unknown after an error (a lost device, a half-done dispatch): the next fixture gets a fresh page.
        await this.discard(live);
        const lost = answer.lostDevices.map((device) => `the WebGPU device was lost (${device.reason}${device.message === '' ? '' : `: ${device.message}`})`);
        const message = lost.length > 0 ? `${lost.join('; ')} while computing fixture ${meta.id}; ${answer.message}` : answer.message;
        return { kind: 'error', message, detail: answer.stack, adapterSeconds: finiteSeconds(answer.seconds) };
      }
      return this.receiveOutputs(request, answer, server.jobs.get(token)?.outputs ?? null);
    } finally {
      server.jobs.delete(token);
    }
  }

  /** The adapter's conv2dForward in the page, isolated like run(): an error, a crash or a timeout discards the page. */
  async runForward(request: HostForwardRequest): Promise<HostForwardResponse> {
    const { meta } = request;
    const current = await this.currentPage();
    if (!current.ok) return { kind: 'error', message: `${current.message} (for the forward of fixture ${meta.id})`, detail: current.detail };
    const { live } = current;
    const server = this.server!;
    const token = randomBytes(16).toString('hex');
    const spec = (tensor: Tensor): WireTensorSpec => ({ dtype: tensor.dtype, shape: [...tensor.shape], byteLength: tensor.data.byteLength });
    const bytes = (tensor: Tensor): Buffer => Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    const inputs = [request.x, request.w, ...(request.b !== undefined ? [request.b] : [])];
    server.jobs.set(token, { inputs: Buffer.concat(inputs.map(bytes)), outputs: null });
    const job: ForwardJob = { token, id: meta.id, params: meta.params, x: spec(request.x), w: spec(request.w), ...(request.b !== undefined ? { b: spec(request.b) } : {}), expected: request.expected };
    try {
      const work = live.page.evaluate(([name, wire]) => (window as unknown as Record<string, HarnessApi>)[name].forward(wire), [HARNESS_GLOBAL, job] as [string, ForwardJob]);
      const outcome = await this.race<ForwardAnswer>(work, live, request.timeoutMs);
      if (outcome.kind !== 'value') {
        void work.catch(() => undefined);
        await this.discard(live);
        if (outcome.kind === 'timeout') return { kind: 'timeout' };
        const reason = outcome.kind === 'ended' ? outcome.reason : { message: `the page stopped answering: ${outcome.message}` };
        return { kind: 'error', message: `${reason.message} while computing the forward of fixture ${meta.id}`, detail: reason.detail };
      }
      const answer = outcome.value;
      if (answer.kind === 'error') {
        await this.discard(live);
        return { kind: 'error', message: answer.message, detail: answer.stack, adapterSeconds: finiteSeconds(answer.seconds) };
      }
      const posted = server.jobs.get(token)?.outputs ?? null;
      if (posted === null) return { kind: 'error', message: `the page answered the forward of ${meta.id} without posting y` };
      try {
        const y = checkOutputTensor('y', { dtype: answer.y?.dtype, shape: answer.y?.shape, data: typedArray(request.expected.dtype, posted) }, request.expected);
        return { kind: 'ok', y, adapterSeconds: finiteSeconds(answer.seconds) };
      } catch (error) {
        return { kind: 'error', message: (error as Error).message };
      }
    } finally {
      server.jobs.delete(token);
    }
  }

  /** Rebuild the posted outputs from their bytes and check them again: nothing from the page is trusted. */
  private receiveOutputs(request: HostRequest, answer: Extract<RunAnswer, { kind: 'ok' }>, posted: Buffer | null): HostResponse {
    if (posted === null) return { kind: 'error', message: `the page answered fixture ${request.meta.id} without posting its outputs` };
    const outputs: Partial<Record<OutputName, Tensor>> = {};
    let offset = 0;
    try {
      for (const name of OUTPUT_NAMES) {
        const expected = request.expected[name];
        if (expected === undefined) continue;
        const described = answer.outputs?.[name];
        if (described === undefined || typeof described.byteLength !== 'number' || offset + described.byteLength > posted.length) {
          return { kind: 'error', message: `${name}: the page's posted outputs do not hold it (${posted.length} bytes posted)` };
        }
        const slice = posted.subarray(offset, offset + described.byteLength);
        offset += described.byteLength;
        outputs[name] = checkOutputTensor(name, { dtype: described.dtype, shape: described.shape, data: typedArray(expected.dtype, slice) }, expected);
      }
    } catch (error) {
      return { kind: 'error', message: (error as Error).message };
    }
    const notes = Array.isArray(answer.notes) ? answer.notes.filter((note): note is string => typeof note === 'string') : [];
    return { kind: 'ok', outputs, adapterSeconds: finiteSeconds(answer.seconds), notes };
  }

  async close(): Promise<void> {
    this.closing = true;
    const live = this.live;
    if (live !== null && !live.isEnded()) {
      await this.race(
        live.page.evaluate((name) => (window as unknown as Record<string, HarnessApi>)[name].dispose(), HARNESS_GLOBAL),
        live,
        CLOSE_GRACE_MS,
      );
    }
    this.live = null;
    const browser = this.browser;
    this.browser = null;
    await browser?.close().catch(() => undefined);
    await this.server?.stop();
    this.server = null;
  }
}

/** A typed array of `dtype` holding a copy of `bytes` (a copy: aligned, and owning its buffer); a partial last element is cut off. */
function typedArray(dtype: Dtype, bytes: Buffer): TensorData {
  const size = dtype === 'float64' ? 8 : dtype === 'float32' ? 4 : 2;
  const buffer = new ArrayBuffer(bytes.length - (bytes.length % size));
  new Uint8Array(buffer).set(bytes.subarray(0, buffer.byteLength));
  if (dtype === 'float64') return new Float64Array(buffer);
  if (dtype === 'float32') return new Float32Array(buffer);
  return new Uint16Array(buffer);
}

function finiteSeconds(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
