/**
 * conformance-runner: score a Conv2d backward implementation against the corpus.
 *
 *   conformance-runner --impl ./adapter.js [--fixtures DIR] [--filter EXPR] [--only ID]
 *                      [--json FILE] [--junit FILE] [--html FILE] [--timeout MS] [--load-timeout MS] [--jobs N] [--shard I/N]
 *                      [--bail | --max-failures N] [--repeat N] [--gradcheck] [--verbose]
 *   conformance-runner --impl ./adapter.js --fuzz N [--seed S] [--fuzz-time SECONDS] [--save-failures DIR]
 *   conformance-runner --impl ./adapter.js --fuzz-replay 'x=... filter=... ...'
 *
 * Exit status (cli/exit-codes.ts): 0 when every selected, supported fixture passed (and at least
 * one did); 1 when any failed, errored, timed out or is missing, or when nothing ran; 2 for usage
 * errors (a report path whose folder does not exist included), an adapter that cannot be loaded,
 * or a corpus that fails verification (manifest and fixture.json files before anything runs;
 * each tensor file's sha256 when its fixture is read, which stops the run); 130 on SIGINT, 143
 * on SIGTERM. The console report goes to stdout, streamed (header first, each failure as it
 * happens: conformance/reports/console.ts); progress (on a TTY) and adapter output (with
 * --verbose) to stderr. The bin file is cli/bin/conformance-runner.ts.
 */
import { Option } from 'commander';
import type { CliCommand, CommandIo, CommandResult, CommandStream } from '../cli/entry.js';
import { ConformanceError } from '../src/errors.js';
import { checkOutputFile, commaList, integerInRange, milliseconds, positiveInteger } from '../cli/options.js';
import { fuzzFailureLines, fuzzHeaderLine, fuzzSummaryLines } from './fuzz/fuzz-report.js';
import type { FuzzOptions } from './fuzz/run-fuzz.js';
import { ConsoleReporter, shouldColor } from './reports/console.js';
import { writeHtmlReport } from './reports/html.js';
import { writeJsonReport } from './reports/json.js';
import { writeJunitReport } from './reports/junit.js';
import { parseShard } from './shard.js';
import { DEFAULT_LOAD_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, exitCodeFor, runConformance, type RunOptions, type RunResult } from './run.js';

/** The parsed options of conformance-runner. */
export interface RunnerCommandOptions {
  impl: string;
  fixtures?: string;
  filter?: string;
  only: string[];
  json?: string;
  junit?: string;
  html?: string;
  bail?: boolean;
  maxFailures?: number;
  repeat: number;
  timeout: number;
  loadTimeout: number;
  sandbox?: boolean;
  sandboxRead?: string[];
  jobs: number;
  shard?: string;
  verbose?: boolean;
  browser?: string;
  fuzz?: number;
  seed?: number;
  fuzzTime?: number;
  fuzzReplay?: string;
  saveFailures?: string;
  gradcheck?: boolean;
}

/** The fuzz options of a command line, or undefined for a corpus run; --seed and the others need --fuzz or --fuzz-replay. */
function fuzzOptionsOf(options: RunnerCommandOptions): FuzzOptions | undefined {
  if (options.fuzz !== undefined && options.fuzzReplay !== undefined) {
    throw new ConformanceError('E_USAGE', '--fuzz and --fuzz-replay: expected one of them, found both (--fuzz-replay runs the one case it is given)', {});
  }
  if (options.fuzz === undefined && options.fuzzReplay === undefined) {
    const stray = [options.seed !== undefined ? '--seed' : null, options.fuzzTime !== undefined ? '--fuzz-time' : null, options.saveFailures !== undefined ? '--save-failures' : null].filter(
      (name) => name !== null,
    );
    if (stray.length > 0) throw new ConformanceError('E_USAGE', `${stray.join(', ')}: only with --fuzz N or --fuzz-replay CASE, found without`, { stray });
    return undefined;
  }
  return {
    cases: options.fuzz ?? 1,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.fuzzTime !== undefined ? { timeSeconds: options.fuzzTime } : {}),
    ...(options.fuzzReplay !== undefined ? { replay: options.fuzzReplay } : {}),
    ...(options.saveFailures !== undefined ? { saveFailures: options.saveFailures } : {}),
  };
}

/** --fuzz-time: a positive number of seconds. */
function positiveSeconds(text: string): number {
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0)) throw new ConformanceError('E_USAGE', `--fuzz-time: expected a positive number of seconds, found '${text}'`, { text });
  return seconds;
}

/** Run the corpus against the adapter, print the console report, write the reports asked for. */
export async function runRunnerCommand(options: RunnerCommandOptions, io: CommandIo): Promise<CommandResult<RunResult>> {
  // Report paths are checked before the run, not after minutes of it.
  if (options.json !== undefined) checkOutputFile(options.json, '--json');
  if (options.junit !== undefined) checkOutputFile(options.junit, '--junit');
  if (options.html !== undefined) checkOutputFile(options.html, '--html');
  if (options.bail === true && options.maxFailures !== undefined) {
    throw new ConformanceError('E_USAGE', `--bail and --max-failures: expected one of them, found both (--bail is --max-failures 1)`, {});
  }
  const fuzz = fuzzOptionsOf(options);
  const fuzzRepro = new Map<string, string[]>();
  const reporter = new ConsoleReporter({
    color: shouldColor(io.stdout),
    verbose: options.verbose === true,
    write: (text) => io.stdout.write(text),
    progress: io.stderr as NodeJS.WriteStream,
    reproLines: (id) => fuzzRepro.get(id),
  });
  try {
    const runOptions: RunOptions = {
      impl: options.impl,
      fixturesDir: options.fixtures,
      filter: options.filter,
      only: options.only,
      timeoutMs: options.timeout,
      loadTimeoutMs: options.loadTimeout,
      sandbox: options.sandbox === true,
      sandboxRead: options.sandboxRead,
      jobs: options.jobs,
      shard: options.shard === undefined ? undefined : parseShard(options.shard),
      verbose: options.verbose === true,
      adapterOutput: io.stderr,
      browser: options.browser,
      maxFailures: options.bail === true ? 1 : options.maxFailures,
      repeat: options.repeat,
      errorMaps: options.html !== undefined,
      gradcheck: options.gradcheck === true,
      onStart: (info) => {
        if (info.fuzz !== undefined) io.stdout.write(`${fuzzHeaderLine(info.total, info.fuzz.seed, info.fuzz.replay)}\n`);
        reporter.start(info, { impl: options.impl, timeoutMs: options.timeout, gradcheck: options.gradcheck === true });
      },
      onOutcome: (outcome, progress, detail) => reporter.outcome(outcome, progress, detail),
    };
    if (fuzz !== undefined) runOptions.fuzz = { ...fuzz, onFailure: (failure) => fuzzRepro.set(failure.id, fuzzFailureLines(failure, options.impl, undefined, options.gradcheck === true ? ['--gradcheck'] : [])) };
    const result = await runConformance(runOptions);
    reporter.finish(result);
    if (result.fuzz !== undefined) io.stdout.write(`${fuzzSummaryLines(result.fuzz, options.impl, options.saveFailures).join('\n')}\n`);
    if (options.json !== undefined) {
      await writeJsonReport(options.json, result);
      io.stderr.write(`wrote JSON report ${options.json}\n`);
    }
    if (options.junit !== undefined) {
      await writeJunitReport(options.junit, result);
      io.stderr.write(`wrote JUnit report ${options.junit}\n`);
    }
    if (options.html !== undefined) {
      await writeHtmlReport(options.html, result);
      io.stderr.write(`wrote HTML report ${options.html}\n`);
    }
    return { status: exitCodeFor(result), data: result };
  } finally {
    reporter.stop();
  }
}

export const runnerCommand: CliCommand = {
  name: 'conformance-runner',
  description: 'Score a Conv2d backward implementation (dx, dw, db) against the golden fixture corpus.',
  define(program, { io, action }) {
    program
      .requiredOption('--impl <adapter>', 'the implementation: a JS module path (ESM or CommonJS), cmd:COMMAND (JSON-lines protocol), replay:DIR (saved outputs), or browser:MODULE (an ES module run in headless Chromium, with WebGPU)')
      .option('--browser <path>', 'for --impl browser:MODULE: the Chromium or Chrome executable (default: $CHROME_PATH, then the usual system paths)')
      .option('--fixtures <dir>', 'corpus folder (default: the corpus bundled with this package)')
      .option(
        '--filter <expr>',
        'select fixtures: comma-separated terms (AND) KEY=V, KEY!=V, KEY~V (substring), KEY!~V; KEY one of family, dtype, tag, case, id; V1|V2 for alternatives. ' +
          "Example: 'family=exact|normal,dtype!=float16,tag=grouped'",
      )
      .option('--only <id>', 'run only this fixture id (repeatable, or comma-separated)', commaList, [])
      .option('--json <file>', 'write the JSON report (schema/report.schema.json) to FILE')
      .option('--junit <file>', 'write a JUnit XML report to FILE')
      .option('--html <file>', 'write a self-contained HTML report with error heat maps of the failing outputs to FILE')
      .option('--bail', 'stop after the first failing fixture (same as --max-failures 1)')
      .addOption(
        new Option('--max-failures <n>', 'stop after N failing fixtures (fail, error, timeout or missing); exit status 1').argParser(
          positiveInteger('--max-failures', 'failing fixtures before the run stops'),
        ),
      )
      .addOption(
        new Option('--repeat <n>', 'call the adapter N times on each fixture and report outputs that are not bitwise identical')
          .argParser(positiveInteger('--repeat', 'calls of the adapter per fixture'))
          .default(1),
      )
      .addOption(
        new Option('--timeout <ms>', 'per-fixture time limit in milliseconds, at most 2147483647')
          .argParser(milliseconds('--timeout', 'milliseconds per fixture'))
          .default(DEFAULT_TIMEOUT_MS),
      )
      .addOption(
        new Option('--load-timeout <ms>', "time limit in milliseconds for the adapter to start (import and init(), a cmd: program's handshake, a browser page), apart from --timeout")
          .argParser(milliseconds('--load-timeout', 'milliseconds for the adapter to start'))
          .default(DEFAULT_LOAD_TIMEOUT_MS),
      )
      .addOption(
        new Option('--jobs <n>', 'fixtures run in parallel, each job with its own adapter process')
          .argParser(positiveInteger('--jobs', 'number of parallel adapter processes'))
          .default(1),
      )
      .option('--shard <i/n>', 'run shard I of N (1-based): the fixtures at positions p (sorted ids) with p mod N = I-1')
      .option('--sandbox', 'run a module or cmd: adapter under bubblewrap: no network, its own PID namespace, no view of the corpus (docs/threat-model.md)')
      .option(
        '--sandbox-read <path>',
        'with --sandbox: one more file or folder the adapter may read, e.g. an interpreter outside /usr and its packages (repeatable)',
        (value: string, previous: string[]) => [...previous, value],
        [],
      )
      .addOption(
        new Option('--fuzz <n>', 'instead of the corpus, run N cases drawn at random from a space wider than the corpus (docs/fuzzing.md); each failure is shrunk to a minimal case').argParser(
          positiveInteger('--fuzz', 'fuzz cases'),
        ),
      )
      .addOption(new Option('--seed <s>', 'with --fuzz: the seed of the cases (default: a random one, printed and in the reports)').argParser(integerInRange('--seed', 'the fuzz seed', 0, 0xffffffff)))
      .addOption(new Option('--fuzz-time <seconds>', 'with --fuzz: draw no new case after this many seconds').argParser(positiveSeconds))
      .option('--fuzz-replay <case>', "run the one fuzz case given in its one-line form (as a failure prints it: 'x=NxCxHxW filter=CoutxKHxKW ...')")
      .option('--save-failures <dir>', 'with --fuzz: write each minimal failure as a fixture folder of a corpus in DIR (replay with --fixtures DIR)')
      .option('--gradcheck', "check the adapter's backward against its own conv2dForward on every fixture and fuzz case: adjoint identities and central differences, each with a proven bound (docs/tolerance.md)")
      .option('--verbose', "show passing and skipped fixtures, error details, and forward the adapter's stdout/stderr to stderr")
      .addHelpText('after', '\nExit status: 0 all selected fixtures passed; 1 a fixture failed, errored, timed out or is missing, or nothing ran;\n2 usage, adapter-load or corpus problems; 130 SIGINT; 143 SIGTERM.')
      .action(action((options: RunnerCommandOptions) => runRunnerCommand(options, io)));
  },
};
