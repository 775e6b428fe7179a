/**
 * `npm run self-test`: run every implementation of the self-test catalog
 * (conformance/self-test/catalog.ts) over the corpus and print which fixtures
 * catch which bug. Exit status: 0 when every entry meets its expectation
 * (buggy ones fail, correct ones pass), 1 when one does not, 2 on a usage or
 * corpus problem.
 */
import { Command, InvalidArgumentError } from 'commander';
import { isConformanceError } from '../src/errors.js';
import { CATALOG, CORPUS_GAPS, type CatalogEntry } from './self-test/catalog.js';
import { formatMatrix, runCatalog, type EntryReport } from './self-test/self-test.js';

interface CommandOptions {
  fixtures?: string;
  filter?: string;
  only?: string[];
  jobs: number;
  timeout?: number;
  allTags?: boolean;
  gaps?: boolean;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`expected an integer >= 1, found '${value}'`);
  return parsed;
}

function names(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((name) => name.trim()).filter((name) => name !== '')];
}

function selectEntries(options: CommandOptions): CatalogEntry[] {
  const available = options.gaps ? [...CATALOG, ...CORPUS_GAPS] : [...CATALOG];
  if (options.only === undefined) return available;
  const unknown = options.only.filter((name) => !available.some((entry) => entry.name === name));
  if (unknown.length > 0) {
    const known = available.map((entry) => entry.name).join(', ');
    throw new InvalidArgumentError(`--only: unknown entr${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')}; expected names from: ${known}`);
  }
  return available.filter((entry) => options.only!.includes(entry.name));
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('self-test')
    .description('Run the catalog of correct and deliberately buggy implementations over the corpus and show which fixtures catch each bug.')
    .option('--fixtures <dir>', 'corpus folder (default: the bundled fixtures/)')
    .option('--filter <expression>', "only fixtures matching a filter expression, e.g. 'family=normal'")
    .option('--only <names>', 'only these catalog entries (comma-separated, repeatable)', names)
    .option('--jobs <n>', 'entries run at the same time', positiveInteger, 1)
    .option('--timeout <ms>', 'per-fixture timeout in milliseconds', positiveInteger)
    .option('--all-tags', 'one column per tag present in the corpus, not just the key tags')
    .option('--gaps', 'also run the known corpus gaps (bugs the corpus is not expected to catch); they never change the exit status')
    .exitOverride();
  let options: CommandOptions;
  let entries: CatalogEntry[];
  try {
    program.parse(argv, { from: 'user' });
    options = program.opts<CommandOptions>();
    entries = selectEntries(options);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (error instanceof InvalidArgumentError) process.stderr.write(`self-test: ${error.message}\n`);
    return 2;
  }

  const gapNames = new Set(CORPUS_GAPS.map((entry) => entry.name));
  let reports: EntryReport[];
  const started = performance.now();
  try {
    reports = await runCatalog(entries, {
      fixturesDir: options.fixtures,
      filter: options.filter,
      timeoutMs: options.timeout,
      concurrency: options.jobs,
      onEntry: (report, progress) => {
        const mark = report.met ? 'ok' : gapNames.has(report.entry.name) ? 'gap' : 'NOT MET';
        process.stderr.write(`[${progress.done}/${progress.total}] ${report.entry.name}: expected ${report.entry.expected}, got ${report.actual} (${mark}, ${report.seconds.toFixed(1)}s)\n`);
      },
    });
  } catch (error) {
    if (isConformanceError(error)) {
      process.stderr.write(`self-test: ${error.code}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const corpus = reports.find((report) => report.result)?.result?.corpus;
  if (corpus) process.stdout.write(`corpus ${corpus.dir} (version ${corpus.corpusVersion}, digest ${corpus.digest.slice(0, 12)})\n\n`);
  process.stdout.write(`${formatMatrix(reports, { allTags: options.allTags, gaps: gapNames })}\n\n`);

  const unmet = reports.filter((report) => !report.met && !gapNames.has(report.entry.name));
  const gapsCaught = reports.filter((report) => gapNames.has(report.entry.name) && report.met);
  const seconds = (performance.now() - started) / 1000;
  if (gapsCaught.length > 0) {
    process.stdout.write(`known gaps now caught by the corpus (move them into CATALOG): ${gapsCaught.map((report) => report.entry.name).join(', ')}\n`);
  }
  if (unmet.length === 0) {
    process.stdout.write(`self-test: all ${reports.filter((report) => !gapNames.has(report.entry.name)).length} expectations met in ${seconds.toFixed(1)}s\n`);
    return 0;
  }
  process.stdout.write(`self-test: ${unmet.length} expectation(s) NOT met in ${seconds.toFixed(1)}s:\n`);
  for (const report of unmet) {
    const why = report.problem ?? `expected ${report.entry.expected}, got ${report.actual}`;
    const hint = report.entry.expected === 'fail' && report.entry.caughtBy ? ` (needs fixtures with ${report.entry.caughtBy})` : '';
    process.stdout.write(`  ${report.entry.name}: ${why}${hint}\n`);
  }
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`self-test: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
