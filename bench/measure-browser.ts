/**
 * Time a `browser:` adapter (by default the bundled WGSL kernels) with the page's
 * start-up apart from the per-fixture time:
 *
 *  - start-up: one BrowserHost.start() (bundling the harness and the adapter,
 *    launching Chromium, the first page: context, harness, adapter import and init()),
 *    split as the host records it;
 *  - fixtures per second: one runConformance over the selection; fixtures computed /
 *    (the run's seconds - its own adapter start-up seconds) is the steady rate. (A
 *    difference of two runs cancels start-up too, but on a loaded machine the noise of
 *    two start-ups can exceed the whole difference and leave no rate at all.)
 */
import { performance } from 'node:perf_hooks';
import { ConformanceError } from '../src/errors.js';
import { BrowserHost, type BrowserHostTimings } from '../conformance/host/browser-host.js';
import { DEFAULT_LOAD_TIMEOUT_MS, runConformance, type RunResult } from '../conformance/run.js';
import { distPath } from './measure-runner.js';

export interface BrowserMeasurement {
  impl: string;
  /** Seconds of one start(): bundles, browser launch, first page. */
  startupSeconds: number;
  startup: { bundleSeconds: number; launchSeconds: number; pageSeconds: number };
  /** Fixtures computed (not skipped) in the whole run. */
  ran: number;
  counts: RunResult['counts'];
  /** The whole run's report seconds (start-up included). */
  runSeconds: number;
  /** Time inside conv2dBackward over the whole run. */
  adapterSeconds: number;
  /** Steady fixtures per second, start-up cancelled out (see the file's comment). */
  fixturesPerSecond: number;
}

export interface BrowserMeasureOptions {
  /** Adapter module path; default the built WGSL adapter. */
  adapter?: string;
  /** Filter of the whole run (default: every fixture). */
  filter?: string;
  browser?: string;
}

function ranOf(result: RunResult): number {
  return result.outcomes.length - result.counts.skipped;
}

export async function measureBrowser(options: BrowserMeasureOptions = {}): Promise<BrowserMeasurement> {
  const adapter = options.adapter ?? distPath('conformance', 'adapters', 'browser', 'wgsl-gather.js');
  const impl = `browser:${adapter}`;
  const host = new BrowserHost(adapter, impl, { verbose: false, stream: process.stderr }, { browser: options.browser, loadTimeoutMs: DEFAULT_LOAD_TIMEOUT_MS });
  const started = performance.now();
  let timings: BrowserHostTimings;
  try {
    await host.start();
    timings = host.timings;
  } finally {
    await host.close();
  }
  const startupSeconds = (performance.now() - started) / 1000;

  const whole = await runConformance({ impl, filter: options.filter, browser: options.browser });
  const ran = ranOf(whole);
  if (ran === 0) throw new ConformanceError('E_USAGE', `bench: ${impl} computed no fixture of the selection`, { impl });
  // The run's seconds include its start-up, which happens once; what is left is the fixtures'.
  const steadySeconds = whole.seconds - whole.startupSeconds;
  return {
    impl,
    startupSeconds,
    startup: { bundleSeconds: timings.bundleSeconds, launchSeconds: timings.launchSeconds, pageSeconds: timings.pageSeconds[0] ?? 0 },
    ran,
    counts: whole.counts,
    runSeconds: whole.seconds,
    adapterSeconds: whole.adapterSeconds,
    fixturesPerSecond: ran / steadySeconds,
  };
}
