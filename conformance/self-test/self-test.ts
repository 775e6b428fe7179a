/**
 * The self-test library: run catalog entries through the conformance runner,
 * judge each against its expected verdict, and tabulate which fixtures caught
 * what (failing fixtures per data family, dtype and key tag).
 * The CLI is conformance/self-test-command.ts.
 */
import { isConformanceError } from '../../src/errors.js';
import { DATA_FAMILIES, type Outcome } from '../../src/types.js';
import { exitCodeFor, runConformance, type RunResult } from '../run.js';
import { catalogModulePath, type CatalogEntry } from './catalog.js';

/** What an entry did: 'pass' (the runner's exit code 0), 'fail' (some fixture failed), or 'inconclusive'. */
export type ActualVerdict = 'pass' | 'fail' | 'inconclusive';

export interface EntryReport {
  entry: CatalogEntry;
  actual: ActualVerdict;
  /** actual === entry.expected */
  met: boolean;
  /** The runner's result; absent when the run itself could not start (then `problem` says why). */
  result?: RunResult;
  problem?: string;
  seconds: number;
}

export interface SelfTestOptions {
  /** Corpus folder (default: the runner's default, the bundled corpus). */
  fixturesDir?: string;
  filter?: string;
  timeoutMs?: number;
  /** How many entries run at the same time (each in its own adapter process). Default 1. */
  concurrency?: number;
  onEntry?: (report: EntryReport, progress: { done: number; total: number }) => void;
}

/** Outcomes that count against an implementation. */
export function isFailing(outcome: Outcome): boolean {
  return outcome.status === 'fail' || outcome.status === 'error' || outcome.status === 'timeout' || outcome.status === 'missing';
}

export function actualVerdict(result: RunResult): ActualVerdict {
  if (exitCodeFor(result) === 0) return 'pass';
  return result.outcomes.some(isFailing) ? 'fail' : 'inconclusive';
}

/** Run one entry over the corpus. Never throws for a broken adapter: that is an unmet entry with a problem. */
export async function runCatalogEntry(entry: CatalogEntry, options: SelfTestOptions = {}): Promise<EntryReport> {
  const started = performance.now();
  try {
    const result = await runConformance({
      impl: catalogModulePath(entry),
      fixturesDir: options.fixturesDir,
      filter: options.filter,
      timeoutMs: options.timeoutMs,
      jobs: 1,
    });
    const actual = actualVerdict(result);
    return { entry, actual, met: actual === entry.expected, result, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    // A corpus or usage problem concerns every entry alike: let it through to the caller.
    if (isConformanceError(error) && error.code !== 'E_ADAPTER_LOAD') throw error;
    const problem = error instanceof Error ? error.message : String(error);
    return { entry, actual: 'inconclusive', met: false, problem, seconds: (performance.now() - started) / 1000 };
  }
}

/** Run entries, `concurrency` at a time; reports come back in catalog order. */
export async function runCatalog(entries: readonly CatalogEntry[], options: SelfTestOptions = {}): Promise<EntryReport[]> {
  const reports = new Array<EntryReport>(entries.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const index = next++;
      reports[index] = await runCatalogEntry(entries[index], options);
      done++;
      options.onEntry?.(reports[index], { done, total: entries.length });
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 1, entries.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return reports;
}

// ---------------------------------------------------------------------------
// The matrix.

export interface MatrixColumn {
  label: string;
  /** Which fixtures the column counts. */
  includes: (outcome: Outcome) => boolean;
}

/**
 * Tags that single out the features the catalog's bugs hinge on, in display order.
 * Only those present in the corpus become columns.
 */
export const KEY_TAGS: readonly string[] = [
  'stride-per-axis',
  'dilated',
  'grouped',
  'depthwise',
  'pads-asymmetric',
  'pads-four-different',
  'padding-same-upper',
  'unread-tail',
  'batch-gt-1',
  'non-square-kernel',
  'nan-dy',
  'inf-dy',
  'inf-x',
  'signed-zero',
];

/** Columns for the families, dtypes and tags present in these runs. */
export function matrixColumns(reports: readonly EntryReport[], options: { allTags?: boolean } = {}): { families: MatrixColumn[]; tags: MatrixColumn[] } {
  const outcomes = reports.flatMap((report) => report.result?.outcomes ?? []);
  const familiesPresent = new Set(outcomes.map((outcome) => outcome.family));
  const dtypesPresent = new Set(outcomes.map((outcome) => outcome.dtype));
  const tagsPresent = new Set(outcomes.flatMap((outcome) => outcome.tags));
  const families: MatrixColumn[] = DATA_FAMILIES.filter((family) => familiesPresent.has(family)).map((family) => ({
    label: family,
    includes: (outcome) => outcome.family === family,
  }));
  const dtypeColumns: MatrixColumn[] = (['float16', 'bfloat16', 'float32', 'float64'] as const)
    .filter((dtype) => dtypesPresent.has(dtype))
    .map((dtype) => ({ label: dtype, includes: (outcome) => outcome.dtype === dtype }));
  const tagNames = options.allTags ? [...tagsPresent].sort() : KEY_TAGS.filter((tag) => tagsPresent.has(tag));
  const tags: MatrixColumn[] = [...dtypeColumns, ...tagNames.map((tag) => ({ label: tag, includes: (outcome: Outcome) => outcome.tags.includes(tag) }))];
  return { families, tags };
}

/** Failing fixtures of a report within a column. */
export function failingIn(report: EntryReport, column: MatrixColumn): number {
  return (report.result?.outcomes ?? []).filter((outcome) => column.includes(outcome) && isFailing(outcome)).length;
}

/** Fixtures of a column the entry ran (not skipped). */
function ranIn(report: EntryReport, column: MatrixColumn): number {
  return (report.result?.outcomes ?? []).filter((outcome) => column.includes(outcome) && outcome.status !== 'skipped').length;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** The cell of a column: failing fixtures, '.' for none, '-' when the entry ran none there. */
function cell(report: EntryReport, column: MatrixColumn): string {
  if (ranIn(report, column) === 0) return '-';
  const failing = failingIn(report, column);
  return failing === 0 ? '.' : String(failing);
}

/**
 * Two tables with one row per implementation: families (with the verdicts), then
 * dtypes and key tags. Cells: number of failing fixtures; '.' none; '-' none run.
 */
export function formatMatrix(reports: readonly EntryReport[], options: { allTags?: boolean; gaps?: ReadonlySet<string> } = {}): string {
  const { families, tags } = matrixColumns(reports, options);
  const verdictRows = reports.map((report) => {
    const outcomes = report.result?.outcomes ?? [];
    const ran = outcomes.filter((outcome) => outcome.status !== 'skipped').length;
    const failing = outcomes.filter(isFailing).length;
    return [
      report.entry.name,
      report.entry.expected,
      report.actual,
      report.met ? 'ok' : options.gaps?.has(report.entry.name) ? 'gap' : 'NOT MET',
      report.result ? `${failing}/${ran}` : 'n/a',
      `${report.seconds.toFixed(1)}s`,
      ...families.map((column) => (report.result ? cell(report, column) : 'n/a')),
    ];
  });
  const tagRows = reports.map((report) => [report.entry.name, ...tags.map((column) => (report.result ? cell(report, column) : 'n/a'))]);
  const first = table(['implementation', 'expected', 'actual', 'verdict', 'failing/run', 'time', ...families.map((column) => column.label)], verdictRows);
  const second = table(['implementation', ...tags.map((column) => column.label)], tagRows);
  const problems = reports
    .filter((report) => report.problem !== undefined)
    .map((report) => `${report.entry.name}: ${report.problem}`)
    .join('\n');
  const legend =
    "cells: failing fixtures (fail, error, timeout or missing); '.' none failed; '-' none run (skipped or absent). " +
    "verdict 'gap': a known corpus gap (catalog.ts CORPUS_GAPS), not counted";
  return [first, '', second, '', legend, ...(problems ? ['', 'problems:', problems] : [])].join('\n');
}
