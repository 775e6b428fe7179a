/**
 * The benchmark's result: its JSON shape, the targets of the performance issue
 * as data, and the short human table.
 */
import type { CorrectAtScale, FuzzThroughput, ShrinkCost } from './measure-fuzz.js';
import type { BrowserMeasurement } from './measure-browser.js';
import type { CommandRoundTrip, ModuleOverhead, SandboxCost } from './measure-hosts.js';
import type { GenerationMeasurement } from './measure-generation.js';
import type { OracleMeasurement } from './measure-oracle.js';
import type { RunnerMeasurement } from './measure-runner.js';

export const BENCH_FORMAT = 'conv2d-backward-conformance-bench';
export const BENCH_VERSION = 1;

/** The targets of the performance issue (on the 2-core CI machine). */
export const TARGETS = {
  generateSeconds: 60,
  overheadRatio: 1.3,
  onnxruntimeSeconds: 10,
  peakRssMB: 250,
  /** The runner's share of a cmd: round trip per fixture, ms (bench/measure-hosts.ts). */
  commandRunnerShareMs: 1,
  /** The module host's overhead ratio, start-up apart: the aim (TARGETS.overheadRatio is the limit). */
  moduleOverheadRatioAim: 1.05,
} as const;

export interface TargetCheck {
  metric: string;
  value: number;
  /** The value must stay below this. */
  below: number;
  unit: string;
  met: boolean;
}

export type RunnerSummary = Pick<RunnerMeasurement, 'seconds' | 'wallSeconds' | 'adapterSeconds' | 'overheadRatio' | 'peakRssMB' | 'adapterPeakRssMB' | 'selected' | 'ran' | 'fixturesPerSecond'>;

export interface BenchResult {
  format: typeof BENCH_FORMAT;
  benchVersion: number;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; arch: string; osRelease: string; totalMemoryMB: number };
  corpus: { dir: string; corpusVersion: string; digest: string; fixtureCount: number };
  generate: GenerationMeasurement & { reproducesBundledDigest: boolean };
  oracle: OracleMeasurement;
  runner: RunnerSummary & {
    /** The naive adapter's repetitions (the median one is reported above). */
    repetitions: Array<Pick<RunnerMeasurement, 'wallSeconds' | 'seconds' | 'adapterSeconds' | 'peakRssMB'>>;
    onnxruntime: RunnerSummary & { repetitions: Array<Pick<RunnerMeasurement, 'wallSeconds' | 'seconds' | 'adapterSeconds' | 'peakRssMB'>> };
    largeCorpus: (RunnerSummary & { seeds: number; fixtures: number; generateSeconds: number }) | null;
  };
  /** The hosts' own cost, start-up apart (bench/measure-hosts.ts). */
  hosts: { command: CommandRoundTrip; module: ModuleOverhead; sandbox: SandboxCost | { skipped: string } };
  /** The bundled WGSL adapter in headless Chromium (bench/measure-browser.ts); null when no browser was found. */
  browser: BrowserMeasurement | { skipped: string };
  /** --fuzz: cases per second (naive adapter), the cost of shrinking one failure, and --fuzz 1000 of the correct implementations (null with --quick). */
  fuzz: { naive: FuzzThroughput; shrink: ShrinkCost; correct: CorrectAtScale | null };
  targets: TargetCheck[];
  benchSeconds: number;
}

/** A target: met when the value is finite and strictly below the limit. */
export function checkTarget(metric: string, value: number, below: number, unit: string): TargetCheck {
  return { metric, value, below, unit, met: Number.isFinite(value) && value < below };
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '-' : Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

/** The short human table. */
export function formatTable(result: BenchResult): string {
  const { generate, oracle, runner, machine } = result;
  const rows: Array<[string, string]> = [
    ['machine', `${machine.cpus} x ${machine.cpuModel}, ${machine.totalMemoryMB} MB, node ${machine.node}`],
    ['corpus', `${result.corpus.fixtureCount} fixtures, digest ${result.corpus.digest.slice(0, 16)}...`],
    [
      'generate',
      `${fixed(generate.seconds, 1)} s for ${generate.fixtures} fixtures (oracle ${fixed(generate.split.oracleSeconds, 1)} s, ` +
        `${Object.entries(generate.split.witnesses)
          .map(([backend, seconds]) => `${backend} ${fixed(seconds, 1)} s`)
          .join(', ')}, writing ${fixed(generate.split.writeSeconds, 1)} s, other ${fixed(generate.split.other, 1)} s)` +
        (generate.reproducesBundledDigest ? '; same digest as the bundled corpus' : '; digest DIFFERS from the bundled corpus'),
    ],
    [
      'oracle vs onnxruntime',
      `${fixed(oracle.vsOnnxruntime, 2)}x (float64 oracle / onnxruntime-node ${oracle.onnxruntimeVersion} float32; ` +
        `${oracle.layers.map((layer) => `${layer.case} ${fixed(layer.oracleMedianSeconds * 1000, 1)}/${fixed(layer.onnxruntimeMedianSeconds * 1000, 1)} ms`).join(', ')})`,
    ],
    [
      'runner, naive',
      `${fixed(runner.seconds, 2)} s (process ${fixed(runner.wallSeconds, 2)} s), adapter ${fixed(runner.adapterSeconds, 2)} s, ` +
        `overhead ratio ${fixed(runner.overheadRatio, 2)}, peak RSS ${fixed(runner.peakRssMB, 0)} MB (adapter process ${fixed(runner.adapterPeakRssMB, 0)} MB)`,
    ],
    [
      'runner, onnxruntime',
      `${fixed(runner.onnxruntime.seconds, 2)} s (process ${fixed(runner.onnxruntime.wallSeconds, 2)} s), adapter ${fixed(runner.onnxruntime.adapterSeconds, 2)} s, ` +
        `${fixed(runner.fixturesPerSecond, 0)} fixtures/s (${runner.onnxruntime.ran} computed)`,
    ],
  ];
  if (runner.largeCorpus !== null) {
    const large = runner.largeCorpus;
    rows.push([
      `runner, naive, ${large.seeds}x corpus`,
      `${large.fixtures} fixtures (generated in ${fixed(large.generateSeconds, 0)} s): ${fixed(large.seconds, 2)} s, adapter ${fixed(large.adapterSeconds, 2)} s, ` +
        `ratio ${fixed(large.overheadRatio, 2)}, peak RSS ${fixed(large.peakRssMB, 0)} MB`,
    ]);
  } else {
    rows.push(['10x corpus', 'skipped (--quick)']);
  }
  const { command, module: moduleHost } = result.hosts;
  rows.push([
    'cmd: round trip',
    `${fixed(command.roundTripMs, 2)} ms per fixture (program ${fixed((command.programSeconds / command.fixtures) * 1000, 2)} ms, runner share ${fixed(command.runnerShareMs, 2)} ms), ` +
      `${command.fixtures} fixtures, start-up ${fixed(command.startupSeconds, 2)} s apart`,
  ]);
  rows.push([
    'module host, naive',
    `overhead ratio ${fixed(moduleHost.overheadRatio, 2)} with start-up (${fixed(moduleHost.startupSeconds, 2)} s) apart, ${fixed(moduleHost.overheadRatioWithStartup, 2)} with it`,
  ]);
  const { sandbox } = result.hosts;
  if ('skipped' in sandbox) rows.push(['--sandbox, naive', `skipped: ${sandbox.skipped}`]);
  else {
    rows.push([
      '--sandbox, naive',
      `${fixed(sandbox.sandboxed.perFixtureMs, 3)} ms per fixture against ${fixed(sandbox.plain.perFixtureMs, 3)} ms without (${fixed(sandbox.perFixtureMs, 3)} ms added), ` +
        `start-up ${fixed(sandbox.sandboxed.startupSeconds, 2)} s against ${fixed(sandbox.plain.startupSeconds, 2)} s (paid at each adapter restart)`,
    ]);
  }
  const { browser } = result;
  if ('skipped' in browser) rows.push(['browser: WGSL adapter', `skipped: ${browser.skipped}`]);
  else {
    rows.push([
      'browser: WGSL adapter',
      `${fixed(browser.fixturesPerSecond, 1)} fixtures/s steady (${browser.ran} fixtures ran, ${fixed(browser.adapterSeconds, 2)} s in the kernels), ` +
        `page start-up ${fixed(browser.startupSeconds, 2)} s apart (bundle ${fixed(browser.startup.bundleSeconds, 2)} s, launch ${fixed(browser.startup.launchSeconds, 2)} s, first page ${fixed(browser.startup.pageSeconds, 2)} s)`,
    ]);
  }
  const { fuzz } = result;
  rows.push([
    'fuzz, naive',
    `${fixed(fuzz.naive.casesPerSecond, 1)} cases/s (${fuzz.naive.cases} cases, mean ${fixed(fuzz.naive.meanMacs, 0)} MACs; oracle ${fixed(fuzz.naive.oracleSeconds, 2)} s, adapter ${fixed(fuzz.naive.adapterSeconds, 2)} s; start-up apart)`,
  ]);
  rows.push(['fuzz, shrinking one failure', `${fixed(fuzz.shrink.seconds, 2)} s, ${fuzz.shrink.runs} adapter runs (${fuzz.shrink.drawnMacs} -> ${fuzz.shrink.shrunkMacs} MACs)`]);
  if (fuzz.correct === null) rows.push(['fuzz 1000, correct implementations', 'skipped (--quick)']);
  else
    rows.push([
      `fuzz ${fuzz.correct.cases}, correct implementations`,
      fuzz.correct.entries.map((entry) => `${entry.name} ${entry.failures === 0 ? 'pass' : `${entry.failures} FAILURES`} (${entry.passed} ran, ${fixed(entry.seconds, 0)} s)`).join(', '),
    ]);
  for (const target of result.targets) {
    rows.push([`target ${target.metric}`, `${fixed(target.value, 2)} ${target.unit} < ${target.below} ${target.unit}: ${target.met ? 'met' : 'MISSED'}`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return `${rows.map(([label, text]) => `${label.padEnd(width)}  ${text}`).join('\n')}\n`;
}

