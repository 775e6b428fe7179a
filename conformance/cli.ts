#!/usr/bin/env node
/**
 * conformance-runner: score a Conv2d backward implementation against the corpus.
 *
 *   conformance-runner --impl ./adapter.js [--fixtures DIR] [--filter EXPR] [--only ID]
 *                      [--json FILE] [--junit FILE] [--timeout MS] [--load-timeout MS] [--jobs N] [--shard I/N] [--verbose]
 *
 * Exit status: 0 when every selected, supported fixture passed (and at least one
 * did); 1 when any failed, errored, timed out or is missing, or when nothing ran;
 * 2 for usage errors, an adapter that cannot be loaded, or a corpus that fails
 * verification (manifest and fixture.json files before anything runs; each
 * tensor file's sha256 when its fixture is read, which stops the run). The
 * console report goes to stdout; progress and adapter output (with --verbose)
 * to stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { ConformanceError, describeValue, isConformanceError } from '../src/errors.js';
import { formatConsoleReport, shouldColor } from './reports/console.js';
import { writeJsonReport } from './reports/json.js';
import { writeJunitReport } from './reports/junit.js';
import { parseShard } from './shard.js';
import { DEFAULT_LOAD_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, exitCodeFor, runConformance, type RunOptions } from './run.js';

interface CliOptions {
  impl: string;
  fixtures?: string;
  filter?: string;
  only: string[];
  json?: string;
  junit?: string;
  timeout: string;
  loadTimeout: string;
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
    .addOption(new Option('--timeout <ms>', 'per-fixture time limit in milliseconds').default(String(DEFAULT_TIMEOUT_MS)))
    .addOption(
      new Option('--load-timeout <ms>', "time limit in milliseconds for the adapter to start (import and init(), or a cmd: program's handshake), apart from --timeout").default(
        String(DEFAULT_LOAD_TIMEOUT_MS),
      ),
    )
    .addOption(new Option('--jobs <n>', 'fixtures run in parallel, each job with its own adapter process').default('1'))
    .option('--shard <i/n>', 'run shard I of N (1-based): the fixtures at positions p (sorted ids) with p mod N = I-1')
    .option('--verbose', "show passing and skipped fixtures, error details, and forward the adapter's stdout/stderr to stderr")
    .showHelpAfterError('(run conformance-runner --help for usage)')
    .exitOverride();
}

function progressBar(stream: NodeJS.WriteStream): { start: (total: number) => void; tick: (done: number) => void; stop: () => void } {
  if (!stream.isTTY) return { start: () => {}, tick: () => {}, stop: () => {} };
  const bar = new SingleBar({ stream, format: 'fixtures [{bar}] {value}/{total} {percentage}% | eta {eta_formatted}', hideCursor: true, clearOnComplete: true });
  let started = false;
  return {
    start: (total) => {
      bar.start(total, 0);
      started = true;
    },
    tick: (done) => {
      if (started) bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
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
  const progress = progressBar(process.stderr);
  try {
    const runOptions: RunOptions = {
      impl: options.impl,
      fixturesDir: options.fixtures,
      filter: options.filter,
      only: options.only,
      timeoutMs: positiveInteger(options.timeout, '--timeout', 'milliseconds per fixture'),
      loadTimeoutMs: positiveInteger(options.loadTimeout, '--load-timeout', 'milliseconds for the adapter to start'),
      jobs: positiveInteger(options.jobs, '--jobs', 'number of parallel adapter processes'),
      shard: options.shard === undefined ? undefined : parseShard(options.shard),
      verbose: options.verbose === true,
      adapterOutput: process.stderr,
      onStart: ({ total }) => {
        if (options.verbose !== true) progress.start(total);
      },
      onOutcome: (_outcome, { done }) => progress.tick(done),
    };
    const result = await runConformance(runOptions);
    progress.stop();
    process.stdout.write(formatConsoleReport(result, { color: shouldColor(process.stdout), verbose: options.verbose === true }));
    if (options.json !== undefined) {
      await writeJsonReport(options.json, result);
      process.stderr.write(`wrote JSON report ${options.json}\n`);
    }
    if (options.junit !== undefined) {
      await writeJunitReport(options.junit, result);
      process.stderr.write(`wrote JUnit report ${options.junit}\n`);
    }
    return exitCodeFor(result);
  } catch (error) {
    progress.stop();
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
