/**
 * `npm run self-test`: run every implementation of the self-test catalog
 * (conformance/self-test/catalog.ts) over the corpus and print which fixtures
 * catch which bug. Exit status: 0 when every entry meets its expectation
 * (buggy ones fail, correct ones pass), 1 when one does not, 2 on a usage or
 * corpus problem.
 */
import type { CliCommand, CommandIo, CommandResult } from '../cli/entry.js';
import { EXIT_FAILED, EXIT_OK } from '../cli/exit-codes.js';
import { commaList, milliseconds, positiveInteger } from '../cli/options.js';
import { ConformanceError } from '../src/errors.js';
import { CATALOG, CORPUS_GAPS, type CatalogEntry } from './self-test/catalog.js';
import { formatMatrix, runCatalog, type EntryReport } from './self-test/self-test.js';

/** The parsed options of self-test. */
export interface SelfTestCommandOptions {
  fixtures?: string;
  filter?: string;
  only?: string[];
  jobs: number;
  timeout?: number;
  allTags?: boolean;
  gaps?: boolean;
}

type CommandOptions = SelfTestCommandOptions;

function selectEntries(options: CommandOptions): CatalogEntry[] {
  const available = options.gaps ? [...CATALOG, ...CORPUS_GAPS] : [...CATALOG];
  if (options.only === undefined) return available;
  const unknown = options.only.filter((name) => !available.some((entry) => entry.name === name));
  if (unknown.length > 0) {
    const known = available.map((entry) => entry.name).join(', ');
    throw new ConformanceError('E_USAGE', `--only: unknown entr${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')}; expected names from: ${known}`, { unknown });
  }
  return available.filter((entry) => options.only!.includes(entry.name));
}

/** Run the catalog, print the matrix; status 1 when an expectation is not met. */
export async function runSelfTest(options: SelfTestCommandOptions, io: CommandIo): Promise<CommandResult<EntryReport[]>> {
  const entries = selectEntries(options);
  const gapNames = new Set(CORPUS_GAPS.map((entry) => entry.name));
  const started = performance.now();
  const reports = await runCatalog(entries, {
      fixturesDir: options.fixtures,
      filter: options.filter,
      timeoutMs: options.timeout,
      concurrency: options.jobs,
      onEntry: (report, progress) => {
        const mark = report.met ? 'ok' : gapNames.has(report.entry.name) ? 'gap' : 'NOT MET';
        io.stderr.write(`[${progress.done}/${progress.total}] ${report.entry.name}: expected ${report.entry.expected}, got ${report.actual} (${mark}, ${report.seconds.toFixed(1)}s)\n`);
      },
    });

  const corpus = reports.find((report) => report.result)?.result?.corpus;
  if (corpus) io.stdout.write(`corpus ${corpus.dir} (version ${corpus.corpusVersion}, digest ${corpus.digest.slice(0, 12)})\n\n`);
  io.stdout.write(`${formatMatrix(reports, { allTags: options.allTags, gaps: gapNames })}\n\n`);

  const unmet = reports.filter((report) => !report.met && !gapNames.has(report.entry.name));
  const gapsCaught = reports.filter((report) => gapNames.has(report.entry.name) && report.met);
  const seconds = (performance.now() - started) / 1000;
  if (gapsCaught.length > 0) {
    io.stdout.write(`known gaps now caught by the corpus (move them into CATALOG): ${gapsCaught.map((report) => report.entry.name).join(', ')}\n`);
  }
  if (unmet.length === 0) {
    io.stdout.write(`self-test: all ${reports.filter((report) => !gapNames.has(report.entry.name)).length} expectations met in ${seconds.toFixed(1)}s\n`);
    return { status: EXIT_OK, data: reports };
  }
  io.stdout.write(`self-test: ${unmet.length} expectation(s) NOT met in ${seconds.toFixed(1)}s:\n`);
  for (const report of unmet) {
    const why = report.problem ?? `expected ${report.entry.expected}, got ${report.actual}`;
    const hint = report.entry.expected === 'fail' && report.entry.caughtBy ? ` (needs fixtures with ${report.entry.caughtBy})` : '';
    io.stdout.write(`  ${report.entry.name}: ${why}${hint}\n`);
  }
  return { status: EXIT_FAILED, data: reports };
}

export const selfTestCommand: CliCommand = {
  name: 'self-test',
  description: 'Run the catalog of correct and deliberately buggy implementations over the corpus and show which fixtures catch each bug.',
  define(program, { io, action }) {
    program
      .option('--fixtures <dir>', 'corpus folder (default: the bundled fixtures/)')
      .option('--filter <expression>', "only fixtures matching a filter expression, e.g. 'family=normal'")
      .option('--only <names>', 'only these catalog entries (comma-separated, repeatable)', commaList)
      .option('--jobs <n>', 'entries run at the same time', positiveInteger('--jobs', 'catalog entries run at the same time'), 1)
      .option('--timeout <ms>', 'per-fixture timeout in milliseconds, at most 2147483647', milliseconds('--timeout', 'milliseconds per fixture'))
      .option('--all-tags', 'one column per tag present in the corpus, not just the key tags')
      .option('--gaps', 'also run the known corpus gaps (bugs the corpus is not expected to catch); they never change the exit status')
      .addHelpText('after', '\nExit status: 0 every expectation met; 1 one not met; 2 usage or corpus problems; 130 SIGINT; 143 SIGTERM.')
      .action(action((options: SelfTestCommandOptions) => runSelfTest(options, io)));
  },
};
