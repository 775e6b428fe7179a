/**
 * `npm run bench [-- --json FILE] [--quick]`: measure corpus generation, the
 * float64 oracle against onnxruntime-node, and the conformance runner, and
 * check them against the targets of the performance issue.
 *
 * Writes a JSON result to FILE (or to stdout) and a short table (to stdout when
 * the JSON goes to a file, to stderr otherwise). Needs the build (`npm run
 * build`): the runner is timed as users run it, `node dist/cli/bin/conformance-runner.js`
 * in a child process. Timings on shared machines are noisy: ratios are measured
 * within the same run (oracle vs onnxruntime alternating, runner seconds vs the
 * adapter seconds of the same run), and repeated runs report their median.
 *
 * --quick skips the 10x corpus (generated with --seeds 10 and scored for peak RSS) and
 * `--fuzz 1000` of every correct implementation (bench/measure-fuzz.ts).
 * Exit status (cli/exit-codes.ts): 0 when it measured (targets missed are data, not errors), 2 on
 * usage errors (a --json whose folder does not exist included) or a failed step. The bin file is
 * cli/bin/bench.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CliCommand, CommandIo, CommandResult } from '../cli/entry.js';
import { EXIT_OK } from '../cli/exit-codes.js';
import { checkOutputFile } from '../cli/options.js';
import { writeFileAtomic } from '../src/atomic-write.js';
import { ConformanceError, isConformanceError } from '../src/errors.js';
import { loadManifest } from '../src/manifest.js';
import { bundledCorpusDir, packageRoot } from '../src/paths.js';
import { measureCommandRoundTrip, measureModuleOverhead, measureSandboxCost } from './measure-hosts.js';
import { measureBrowser, type BrowserMeasurement } from './measure-browser.js';
import { measureGeneration } from './measure-generation.js';
import { measureCorrectAtScale, measureFuzzThroughput, measureShrink } from './measure-fuzz.js';

import { measureOracle } from './measure-oracle.js';
import { distPath, measureRunner, measureRunnerRepeated, type RunnerMeasurement } from './measure-runner.js';
import { BENCH_FORMAT, BENCH_VERSION, checkTarget, formatTable, TARGETS, type BenchResult, type RunnerSummary, type TargetCheck } from './report.js';

/** How many times each measurement is repeated (the median is kept). */
const REPETITIONS = { oracle: 9, runner: 3 };
const QUICK_REPETITIONS = { oracle: 5, runner: 3 };
/** The larger corpus: every fixture with this many seeds. */
const LARGE_CORPUS_SEEDS = 10;

function summarize(measurement: RunnerMeasurement): RunnerSummary {
  const { seconds, wallSeconds, adapterSeconds, overheadRatio, peakRssMB, adapterPeakRssMB, selected, ran, fixturesPerSecond } = measurement;
  return { seconds, wallSeconds, adapterSeconds, overheadRatio, peakRssMB, adapterPeakRssMB, selected, ran, fixturesPerSecond };
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** `npm run generate-fixtures -- --out DIR --seeds K`, as a child process; returns its wall time. */
async function generateWithCli(outDir: string, seeds: number): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [distPath('cli', 'bin', 'generate-fixtures.js'), '--out', outDir, '--seeds', String(seeds)], {
      cwd: packageRoot(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-4000);
      // The generator logs "generated N/TOTAL (id)" every 50 fixtures when stderr is not a terminal.
      const last = /generated (\d+)\/(\d+)[^\n]*\n?$/.exec(tail);
      if (last !== null && Number(last[1]) % 500 === 0) progress(`  10x corpus: ${last[1]}/${last[2]} fixtures`);
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      if (exitCode === 0) resolve();
      else reject(new ConformanceError('E_USAGE', `bench: generate-fixtures --seeds ${seeds} exited with code ${exitCode}:\n${tail.trim()}`, { exitCode }));
    });
  });
  return (performance.now() - started) / 1000;
}

export async function runBench(options: { quick: boolean }): Promise<BenchResult> {
  const benchStarted = performance.now();
  const repetitions = options.quick ? QUICK_REPETITIONS : REPETITIONS;
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: release(),
    totalMemoryMB: Math.round(totalmem() / 2 ** 20),
  };
  const corpusDir = bundledCorpusDir();
  const manifest = await loadManifest(corpusDir);
  const naiveAdapter = distPath('conformance', 'adapters', 'naive.js');
  const onnxruntimeAdapter = distPath('conformance', 'adapters', 'onnxruntime.js');
  const scratch = await mkdtemp(join(tmpdir(), 'conv2d-bench-'));
  try {
    progress(`generating the full corpus (${manifest.fixtureCount} fixtures, witnesses included) into ${scratch}`);
    let lastShown = 0;
    const generation = await measureGeneration({
      outDir: join(scratch, 'corpus'),
      onFixture: (done, total) => {
        if (done - lastShown >= 100 || done === total) {
          lastShown = done;
          progress(`  ${done}/${total}`);
        }
      },
    });
    // Remove it now: the runner measurements below use the bundled corpus.
    await rm(join(scratch, 'corpus'), { recursive: true, force: true });

    progress(`oracle vs onnxruntime-node on the realistic layers (${repetitions.oracle} repetitions each)`);
    const oracle = await measureOracle({ repetitions: repetitions.oracle });

    progress(`runner, naive adapter, bundled corpus (${repetitions.runner} runs)`);
    const naive = await measureRunnerRepeated({ impl: naiveAdapter, workDir: scratch, label: 'naive' }, repetitions.runner);
    progress(`runner, onnxruntime adapter, bundled corpus (${repetitions.runner} runs)`);
    const onnxruntime = await measureRunnerRepeated({ impl: onnxruntimeAdapter, workDir: scratch, label: 'onnxruntime' }, repetitions.runner);

    progress(`hosts: cmd: round trip with a program that answers at once, module host overhead (${repetitions.runner} runs each, start-up apart)`);
    const command = await measureCommandRoundTrip({ fixturesDir: corpusDir, repetitions: repetitions.runner });
    const moduleHost = await measureModuleOverhead({ impl: naiveAdapter, repetitions: repetitions.runner });
    progress(`hosts: the naive adapter with and without --sandbox (${repetitions.runner} runs each)`);
    const sandbox = await measureSandboxCost({ impl: naiveAdapter, repetitions: repetitions.runner });

    progress('browser: the bundled WGSL adapter in headless Chromium (page start-up apart)');
    let browser: BrowserMeasurement | { skipped: string };
    try {
      browser = await measureBrowser();
    } catch (error) {
      // No browser on this machine is a fact to report, not a failed bench; anything else stops it.
      if (!isConformanceError(error, 'E_USAGE')) throw error;
      browser = { skipped: error.message };
    }

    progress('fuzz: naive adapter, --fuzz 200 --seed 1; shrinking one failure (buggy-dx-last-tile-skipped)');
    const fuzzThroughput = await measureFuzzThroughput(naiveAdapter, 200);
    const shrink = await measureShrink();
    let fuzzCorrect: BenchResult['fuzz']['correct'] = null;
    if (!options.quick) {
      progress('fuzz: --fuzz 1000 of every correct self-test implementation (minutes)');
      fuzzCorrect = await measureCorrectAtScale(1000);
    }

    let largeCorpus: BenchResult['runner']['largeCorpus'] = null;
    if (!options.quick) {
      const largeDir = join(scratch, `corpus-x${LARGE_CORPUS_SEEDS}`);
      progress(`generating a ${LARGE_CORPUS_SEEDS}x corpus (generate-fixtures --seeds ${LARGE_CORPUS_SEEDS}; a few minutes)`);
      const generateSeconds = await generateWithCli(largeDir, LARGE_CORPUS_SEEDS);
      const large = await loadManifest(largeDir);
      progress(`runner, naive adapter, ${LARGE_CORPUS_SEEDS}x corpus (${large.fixtureCount} fixtures)`);
      const measured = await measureRunner({ impl: naiveAdapter, fixturesDir: largeDir, workDir: scratch, label: 'naive-large' });
      largeCorpus = { ...summarize(measured), seeds: LARGE_CORPUS_SEEDS, fixtures: large.fixtureCount, generateSeconds };
    }

    const targets: TargetCheck[] = [
      checkTarget('generate.seconds', generation.seconds, TARGETS.generateSeconds, 's'),
      checkTarget('runner.overheadRatio', naive.median.overheadRatio, TARGETS.overheadRatio, 'x'),
      checkTarget('runner.onnxruntime.seconds', onnxruntime.median.seconds, TARGETS.onnxruntimeSeconds, 's'),
      checkTarget('runner.peakRssMB', naive.median.peakRssMB, TARGETS.peakRssMB, 'MB'),
      checkTarget('hosts.command.runnerShareMs', command.runnerShareMs, TARGETS.commandRunnerShareMs, 'ms'),
      checkTarget('hosts.module.overheadRatio', moduleHost.overheadRatio, TARGETS.overheadRatio, 'x'),
      checkTarget('hosts.module.overheadRatio (aim)', moduleHost.overheadRatio, TARGETS.moduleOverheadRatioAim, 'x'),
    ];
    if (largeCorpus !== null) targets.push(checkTarget('runner.largeCorpus.peakRssMB', largeCorpus.peakRssMB, TARGETS.peakRssMB, 'MB'));

    return {
      format: BENCH_FORMAT,
      benchVersion: BENCH_VERSION,
      quick: options.quick,
      machine,
      corpus: { dir: corpusDir, corpusVersion: manifest.corpusVersion, digest: manifest.digest, fixtureCount: manifest.fixtureCount },
      generate: { ...generation, reproducesBundledDigest: generation.digest === manifest.digest },
      oracle,
      runner: {
        ...summarize(naive.median),
        // The runner's throughput with the fastest bundled adapter, where its own overhead shows most.
        fixturesPerSecond: onnxruntime.median.fixturesPerSecond,
        repetitions: naive.runs,
        onnxruntime: { ...summarize(onnxruntime.median), repetitions: onnxruntime.runs },
        largeCorpus,
      },
      hosts: { command, module: moduleHost, sandbox },
      browser,
      fuzz: { naive: fuzzThroughput, shrink, correct: fuzzCorrect },
      targets,
      benchSeconds: (performance.now() - benchStarted) / 1000,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Measure, print the table, write the JSON result. */
export async function runBenchCommand(options: { json?: string; quick: boolean }, io: CommandIo): Promise<CommandResult<BenchResult>> {
  if (options.json !== undefined) checkOutputFile(options.json, '--json');
  const result = await runBench({ quick: options.quick });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (options.json !== undefined) {
    await writeFileAtomic(options.json, json);
    io.stdout.write(formatTable(result));
    io.stderr.write(`bench: wrote ${options.json}\n`);
  } else {
    io.stderr.write(formatTable(result));
    io.stdout.write(json);
  }
  return { status: EXIT_OK, data: result };
}

export const benchCommand: CliCommand = {
  name: 'bench',
  description: 'Benchmark corpus generation, the oracle against onnxruntime-node, and the conformance runner',
  define(program, { io, action }) {
    program
      .option('--json <file>', 'write the JSON result to FILE (default: stdout)')
      .option('--quick', `skip the ${LARGE_CORPUS_SEEDS}x corpus (its generation takes minutes)`, false)
      .action(action((options: { json?: string; quick: boolean }) => runBenchCommand(options, io)));
  },
};
