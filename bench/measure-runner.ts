/**
 * Time the real conformance-runner CLI (dist/cli/bin/conformance-runner.js) as a child
 * process on a corpus, with a given adapter: wall time of the process, the
 * report's own `seconds` (runner wall time from the start of runConformance:
 * corpus verification, adapter start-up and every fixture) and `adapterSeconds`
 * (time inside conv2dBackward, measured in the adapter's process), and the peak
 * RSS of the runner process and of its adapter process (bench/rss-probe.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ConformanceError } from '../src/errors.js';
import { packageRoot } from '../src/paths.js';
import type { Report } from '../src/report-types.js';
import type { RssRecord } from './rss-probe.js';

export interface RunnerMeasurement {
  /** The --impl given to the CLI. */
  impl: string;
  /** Wall time of the whole CLI process (node start-up, module loading, the run, the reports, exit). */
  wallSeconds: number;
  /** The report's `seconds`: the runner's wall time from the start of runConformance to its end. */
  seconds: number;
  /** The report's `adapterSeconds`: time inside conv2dBackward, summed over fixtures. */
  adapterSeconds: number;
  /** seconds / adapterSeconds. */
  overheadRatio: number;
  selected: number;
  /** Fixtures the adapter computed (every outcome but `skipped`). */
  ran: number;
  counts: Record<string, number>;
  /** Runner fixtures per second: ran / seconds. */
  fixturesPerSecond: number;
  /** Peak RSS of the runner process (the CLI), MB. */
  peakRssMB: number;
  /** Peak RSS of the adapter's process(es), MB (the largest; null when none reported). */
  adapterPeakRssMB: number | null;
  exitCode: number;
  corpusDigest: string;
}

/** What the measurement reads of the CLI's --json report. */
type ReportSummary = Pick<Report, 'seconds' | 'adapterSeconds' | 'counts' | 'selection' | 'corpus'>;

/** The built file of a module of this package (the benchmark measures the build, like users run it). */
/** The runner's bin file in dist/cli/bin/ (also how its RSS record is told from the adapters'). */
const RUNNER_SCRIPT = 'conformance-runner.js';

export function distPath(...parts: string[]): string {
  const path = join(packageRoot(), 'dist', ...parts);
  if (!existsSync(path)) {
    throw new ConformanceError('E_USAGE', `bench: expected the built file ${path}, found none (run \`npm run build\` first)`, { path });
  }
  return path;
}

/**
 * Run `node dist/cli/bin/conformance-runner.js --impl IMPL [--fixtures DIR] --json FILE` once.
 * `workDir` receives the report and the RSS records. Exit code 0 or 1 (fixtures
 * failed) is a measurement; anything else throws E_USAGE with the CLI's stderr.
 */
export async function measureRunner(options: { impl: string; fixturesDir?: string; workDir: string; label: string }): Promise<RunnerMeasurement> {
  const reportPath = join(options.workDir, `${options.label}-report.json`);
  const rssPath = join(options.workDir, `${options.label}-rss.jsonl`);
  const args = ['--import', pathToFileURL(distPath('bench', 'rss-probe.js')).href, distPath('cli', 'bin', RUNNER_SCRIPT), '--impl', options.impl, '--json', reportPath];
  if (options.fixturesDir !== undefined) args.push('--fixtures', options.fixturesDir);
  const started = performance.now();
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: packageRoot(),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, BENCH_RSS_FILE: rssPath, NO_COLOR: '1' },
    });
    let errorText = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      errorText = (errorText + chunk).slice(-8000);
    });
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve({ code: exitCode ?? (signal === null ? -1 : 128), stderr: errorText }));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0 && code !== 1) {
    throw new ConformanceError('E_USAGE', `bench: conformance-runner --impl ${options.impl} exited with code ${code}; expected 0 or 1. Its stderr:\n${stderr.trim()}`, {
      code,
    });
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as ReportSummary;
  const records = existsSync(rssPath)
    ? readFileSync(rssPath, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as RssRecord)
    : [];
  const runnerRecord = records.find((record) => record.script === RUNNER_SCRIPT);
  const adapterRecords = records.filter((record) => record.script !== RUNNER_SCRIPT);
  if (runnerRecord === undefined) {
    throw new ConformanceError('E_USAGE', `bench: the runner process did not report its peak RSS in ${rssPath} (records: ${JSON.stringify(records)})`, { rssPath });
  }
  const ran = report.selection.selected - (report.counts.skipped ?? 0);
  return {
    impl: options.impl,
    wallSeconds,
    seconds: report.seconds,
    adapterSeconds: report.adapterSeconds,
    overheadRatio: report.adapterSeconds > 0 ? report.seconds / report.adapterSeconds : Infinity,
    selected: report.selection.selected,
    ran,
    counts: report.counts,
    fixturesPerSecond: ran / report.seconds,
    peakRssMB: runnerRecord.peakRssMB,
    adapterPeakRssMB: adapterRecords.length > 0 ? Math.max(...adapterRecords.map((record) => record.peakRssMB)) : null,
    exitCode: code,
    corpusDigest: report.corpus.digest,
  };
}

/** The median of numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Measure `repetitions` times and keep the run with the median report `seconds`
 * (a whole run, so its fields belong together), plus every run's key numbers.
 */
export async function measureRunnerRepeated(
  options: { impl: string; fixturesDir?: string; workDir: string; label: string },
  repetitions: number,
): Promise<{ median: RunnerMeasurement; runs: Array<Pick<RunnerMeasurement, 'wallSeconds' | 'seconds' | 'adapterSeconds' | 'peakRssMB'>> }> {
  const runs: RunnerMeasurement[] = [];
  for (let index = 0; index < repetitions; index++) runs.push(await measureRunner({ ...options, label: `${options.label}-${index + 1}` }));
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return {
    median: sorted[Math.floor((sorted.length - 1) / 2)],
    runs: runs.map(({ wallSeconds, seconds, adapterSeconds, peakRssMB }) => ({ wallSeconds, seconds, adapterSeconds, peakRssMB })),
  };
}
