#!/usr/bin/env node
/**
 * conformance-runner: score a Conv2d backward implementation against the corpus.
 *
 *   conformance-runner --impl ./adapter.js [--fixtures DIR] [--filter EXPR] [--only ID]
 *                      [--json FILE] [--junit FILE] [--html FILE] [--timeout MS] [--jobs N] [--shard I/N]
 *                      [--bail | --max-failures N] [--repeat N] [--verbose]
 *
 * Exit status: 0 when every selected, supported fixture passed (and at least one
 * did); 1 when any failed, errored, timed out or is missing, or when nothing ran;
 * 2 for usage errors, an adapter that cannot be loaded, or a corpus that fails
 * verification (manifest and fixture.json files before anything runs; each
 * tensor file's sha256 when its fixture is read, which stops the run). The
 * console report goes to stdout, streamed (header first, each failure as it
 * happens: conformance/reports/console.ts); progress (on a TTY) and adapter
 * output (with --verbose) to stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConformanceError, describeValue, isConformanceError } from '../src/errors.js';
import { ConsoleReporter, shouldColor } from './reports/console.js';
import { writeHtmlReport } from './reports/html.js';
import { writeJsonReport } from './reports/json.js';
import { writeJunitReport } from './reports/junit.js';
import { parseShard } from './shard.js';
import { DEFAULT_TIMEOUT_MS, exitCodeFor, runConformance, type RunOptions } from './run.js';

interface CliOptions {
  impl: string;
  fixtures?: string;
  filter?: string;
  only: string[];
  json?: string;
  junit?: string;
  html?: string;
  bail?: boolean;
  maxFailures?: string;
  repeat: string;
  timeout: string;
  jobs: string;
  shard?: string;
  verbose?: boolean;
}

function positiveInteger(text: string, option: string, meaning: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ConformanceError('E_USAGE', `${option}: expected a positive integer (${meaning}), found ${describeValue(text)}`, { option, text });
  }
  return Number(text);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').map((id) => id.trim()).filter((id) => id !== '')];
}

function buildProgram(): Command {
  return new Command('conformance-runner')
    .description('Score a Conv2d backward implementation (dx, dw, db) against the golden fixture corpus.')
    .requiredOption('--impl <adapter>', 'the implementation: a JS module path (ESM or CommonJS), cmd:COMMAND (JSON-lines protocol), or replay:DIR (saved outputs)')
    .option('--fixtures <dir>', 'corpus folder (default: the corpus bundled with this package)')
    .option(
      '--filter <expr>',
      'select fixtures: comma-separated terms (AND) KEY=V, KEY!=V, KEY~V (substring), KEY!~V; KEY one of family, dtype, tag, case, id; V1|V2 for alternatives. ' +
        "Example: 'family=exact|normal,dtype!=float16,tag=groups'",
    )
    .option('--only <id>', 'run only this fixture id (repeatable, or comma-separated)', collect, [])
    .option('--json <file>', 'write the JSON report (schema/report.schema.json) to FILE')
    .option('--junit <file>', 'write a JUnit XML report to FILE')
    .option('--html <file>', 'write a self-contained HTML report with error heat maps of the failing outputs to FILE')
    .option('--bail', 'stop after the first failing fixture (same as --max-failures 1)')
    .option('--max-failures <n>', 'stop after N failing fixtures (fail, error, timeout or missing); exit status 1')
    .addOption(new Option('--repeat <n>', 'call the adapter N times on each fixture and report outputs that are not bitwise identical').default('1'))
    .addOption(new Option('--timeout <ms>', 'per-fixture time limit in milliseconds (also the limit for loading the adapter)').default(String(DEFAULT_TIMEOUT_MS)))
    .addOption(new Option('--jobs <n>', 'fixtures run in parallel, each job with its own adapter process').default('1'))
    .option('--shard <i/n>', 'run shard I of N (1-based): the fixtures at positions p (sorted ids) with p mod N = I-1')
    .option('--verbose', "show passing and skipped fixtures, error details, and forward the adapter's stdout/stderr to stderr")
    .showHelpAfterError('(run conformance-runner --help for usage)')
    .exitOverride();
}

/** Run the CLI; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message; help and version are not errors.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
    }
    throw error;
  }
  const options = program.opts<CliOptions>();
  const reporter = new ConsoleReporter({
    color: shouldColor(process.stdout),
    verbose: options.verbose === true,
    write: (text) => process.stdout.write(text),
    progress: process.stderr,
  });
  try {
    if (options.bail === true && options.maxFailures !== undefined) {
      throw new ConformanceError('E_USAGE', `--bail and --max-failures: expected one of them, found both (--bail is --max-failures 1)`, {});
    }
    const maxFailures = options.bail === true ? 1 : options.maxFailures === undefined ? undefined : positiveInteger(options.maxFailures, '--max-failures', 'failing fixtures before the run stops');
    const timeoutMs = positiveInteger(options.timeout, '--timeout', 'milliseconds per fixture');
    const runOptions: RunOptions = {
      impl: options.impl,
      fixturesDir: options.fixtures,
      filter: options.filter,
      only: options.only,
      timeoutMs,
      jobs: positiveInteger(options.jobs, '--jobs', 'number of parallel adapter processes'),
      shard: options.shard === undefined ? undefined : parseShard(options.shard),
      verbose: options.verbose === true,
      adapterOutput: process.stderr,
      maxFailures,
      repeat: positiveInteger(options.repeat, '--repeat', 'calls of the adapter per fixture'),
      errorMaps: options.html !== undefined,
      onStart: (info) => reporter.start(info, { impl: options.impl, timeoutMs }),
      onOutcome: (outcome, progress, detail) => reporter.outcome(outcome, progress, detail),
    };
    const result = await runConformance(runOptions);
    reporter.finish(result);
    if (options.json !== undefined) {
      await writeJsonReport(options.json, result);
      process.stderr.write(`wrote JSON report ${options.json}\n`);
    }
    if (options.junit !== undefined) {
      await writeJunitReport(options.junit, result);
      process.stderr.write(`wrote JUnit report ${options.junit}\n`);
    }
    if (options.html !== undefined) {
      await writeHtmlReport(options.html, result);
      process.stderr.write(`wrote HTML report ${options.html}\n`);
    }
    return exitCodeFor(result);
  } catch (error) {
    reporter.stop();
    if (isConformanceError(error)) {
      process.stderr.write(`conformance-runner: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`conformance-runner: internal error: ${error instanceof Error ? (error.stack ?? error.message) : describeValue(error)}\n`);
    return 2;
  }
}

// Ctrl-C / kill: exit through process.exit so adapter processes are killed on the way out (host/adapter-host.ts).
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`conformance-runner: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
