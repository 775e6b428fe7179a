/**
 * The console report: a block per fixture that did not pass (id, what went
 * wrong, and a command to rerun it alone), a summary by family and by tag, the
 * skip reasons, and the final line
 *   `N passed, N failed, N skipped, N errors (E errors, T timeouts, M missing)`
 * where "errors" counts errors, timeouts and missing outputs together.
 */
import type { Outcome, OutcomeStatus } from '../../src/types.js';
import { compareIds } from '../shard.js';
import type { RunResult } from '../run.js';
import { describeOutcome, reproCommand } from './describe.js';

export interface ConsoleOptions {
  /** ANSI colours (the CLI turns them on for a TTY without NO_COLOR). */
  color: boolean;
  /** Also list passing and skipped fixtures one per line. */
  verbose?: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
type Colour = keyof typeof CODES;

function painter(enabled: boolean): (colour: Colour, text: string) => string {
  return (colour, text) => (enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text);
}

/** Whether to colour output written to `stream` (a TTY, and NO_COLOR unset or empty). */
export function shouldColor(stream: { isTTY?: boolean }, environment: NodeJS.ProcessEnv = process.env): boolean {
  const noColor = environment.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}

const LABELS: Record<OutcomeStatus, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  error: 'ERROR',
  timeout: 'TIMEOUT',
  missing: 'MISSING',
  skipped: 'SKIP',
};

const LABEL_COLOURS: Record<OutcomeStatus, Colour> = { pass: 'green', fail: 'red', error: 'red', timeout: 'yellow', missing: 'yellow', skipped: 'dim' };

/** The final line; "errors" includes timeouts and missing outputs. */
export function summaryLine(counts: Record<OutcomeStatus, number>): string {
  const errors = counts.error + counts.timeout + counts.missing;
  return (
    `${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped, ${errors} error${errors === 1 ? '' : 's'} ` +
    `(${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.timeout} timeout${counts.timeout === 1 ? '' : 's'}, ${counts.missing} missing)`
  );
}

interface Tally {
  pass: number;
  fail: number;
  errors: number;
  skipped: number;
}

function tally(outcomes: readonly Outcome[], key: (outcome: Outcome) => readonly string[]): Map<string, Tally> {
  const table = new Map<string, Tally>();
  for (const outcome of outcomes) {
    for (const name of key(outcome)) {
      let row = table.get(name);
      if (row === undefined) {
        row = { pass: 0, fail: 0, errors: 0, skipped: 0 };
        table.set(name, row);
      }
      if (outcome.status === 'pass') row.pass++;
      else if (outcome.status === 'fail') row.fail++;
      else if (outcome.status === 'skipped') row.skipped++;
      else row.errors++;
    }
  }
  return new Map([...table].sort(([a], [b]) => compareIds(a, b)));
}

function renderTable(title: string, table: Map<string, Tally>, paint: (colour: Colour, text: string) => string): string[] {
  const names = [...table.keys()];
  const width = Math.max(title.length, ...names.map((name) => name.length));
  const header = `  ${title.padEnd(width)}  ${'pass'.padStart(5)}  ${'fail'.padStart(5)}  ${'errors'.padStart(6)}  ${'skipped'.padStart(7)}`;
  const lines = [paint('bold', header)];
  for (const [name, row] of table) {
    const fail = String(row.fail).padStart(5);
    const errors = String(row.errors).padStart(6);
    lines.push(
      `  ${name.padEnd(width)}  ${String(row.pass).padStart(5)}  ${row.fail > 0 ? paint('red', fail) : fail}  ${row.errors > 0 ? paint('red', errors) : errors}  ${String(row.skipped).padStart(7)}`,
    );
  }
  return lines;
}

/** The whole console report as text (ends with a newline). */
export function formatConsoleReport(result: RunResult, options: ConsoleOptions): string {
  const paint = painter(options.color);
  const lines: string[] = [];
  const { capabilities, corpus } = result;
  const supports =
    capabilities.supports === 'function'
      ? 'supports(): function'
      : `supports: ${Object.entries(capabilities.supports)
          .map(([flag, value]) => `${flag}=${value}`)
          .join(' ')}`;
  lines.push(
    `adapter ${capabilities.name}: ${capabilities.layout}/${capabilities.filterLayout}, dtypes ${capabilities.dtypes.join(' ')}, outputs ${capabilities.outputs.join(' ')}, ${supports}`,
  );
  lines.push(
    `corpus ${corpus.corpusVersion} (digest ${corpus.digest.slice(0, 12)}) at ${corpus.dir}: ${result.selection.selected} of ${corpus.fixtureCount} fixtures selected`,
  );
  lines.push('');

  const notPassing = result.outcomes.filter((outcome) => outcome.status !== 'pass' && outcome.status !== 'skipped');
  for (const outcome of notPassing) {
    const label = paint(LABEL_COLOURS[outcome.status], LABELS[outcome.status].padEnd(7));
    lines.push(`${label} ${outcome.id}  ${describeOutcome(outcome)}`);
    if (outcome.status === 'error' && outcome.detail !== undefined && options.verbose) {
      for (const line of outcome.detail.split('\n')) lines.push(paint('dim', `        ${line}`));
    }
    for (const note of outcome.notes ?? []) lines.push(paint('dim', `        note: ${note}`));
    lines.push(paint('dim', `        repro: ${reproCommand(result, outcome.id)}`));
  }
  if (options.verbose) {
    for (const outcome of result.outcomes) {
      if (outcome.status !== 'pass' && outcome.status !== 'skipped') continue;
      lines.push(`${paint(LABEL_COLOURS[outcome.status], LABELS[outcome.status].padEnd(7))} ${outcome.id}  ${describeOutcome(outcome)}`);
      for (const note of outcome.notes ?? []) lines.push(paint('dim', `        note: ${note}`));
    }
  }
  const noted = result.outcomes.filter((outcome) => (outcome.status === 'pass' || outcome.status === 'skipped') && (outcome.notes?.length ?? 0) > 0);
  if (!options.verbose && noted.length > 0) {
    const distinct = new Map<string, number>();
    for (const outcome of noted) for (const note of outcome.notes ?? []) distinct.set(note, (distinct.get(note) ?? 0) + 1);
    lines.push(paint('bold', 'Notes:'));
    for (const [note, count] of distinct) lines.push(`  ${count} fixture${count === 1 ? '' : 's'}: ${note}`);
  }
  if (lines[lines.length - 1] !== '') lines.push('');

  lines.push(paint('bold', 'By family:'));
  lines.push(...renderTable('family', tally(result.outcomes, (outcome) => [outcome.family]), paint));
  lines.push(paint('bold', 'By tag:'));
  lines.push(...renderTable('tag', tally(result.outcomes, (outcome) => outcome.tags), paint));

  const reasons = new Map<string, number>();
  for (const outcome of result.outcomes) if (outcome.status === 'skipped') reasons.set(outcome.reason, (reasons.get(outcome.reason) ?? 0) + 1);
  if (reasons.size > 0) {
    lines.push(paint('bold', 'Skipped:'));
    for (const [reason, count] of [...reasons].sort(([a], [b]) => compareIds(a, b))) lines.push(`  ${String(count).padStart(5)}  ${reason}`);
  }
  const grades = { exact: 0, tight: 0, 'within-bound': 0 };
  for (const outcome of result.outcomes) if (outcome.status === 'pass') grades[outcome.grade]++;
  if (result.counts.pass > 0) {
    lines.push(`Passes by grade: ${grades.exact} exact, ${grades.tight} tight, ${grades['within-bound']} within bound`);
  }
  // The adapter's own start-up (import torch, init()) is not runner overhead: it is shown apart.
  const fixtureSeconds = Math.max(0, result.seconds - result.startupSeconds);
  lines.push(
    `Time: ${result.seconds.toFixed(2)} s total, ${result.startupSeconds.toFixed(2)} s adapter start-up, ${result.adapterSeconds.toFixed(2)} s inside the adapter` +
      (result.adapterSeconds > 0 ? ` (runner overhead ratio ${(fixtureSeconds / result.adapterSeconds).toFixed(2)}, start-up apart)` : ''),
  );
  if (result.selection.notSelected > 0) {
    lines.push(`Not selected: ${result.selection.notSelected} of ${corpus.fixtureCount} fixtures (left out by --only, --filter or --shard)`);
  }
  lines.push('');
  const clean = result.counts.fail + result.counts.error + result.counts.timeout + result.counts.missing === 0 && result.counts.pass > 0;
  lines.push(paint(clean ? 'green' : 'red', summaryLine(result.counts)));
  if (result.counts.pass === 0 && result.counts.fail + result.counts.error + result.counts.timeout + result.counts.missing === 0) {
    lines.push(paint('red', 'nothing ran: every selected fixture was skipped, so the run does not pass'));
  }
  return `${lines.join('\n')}\n`;
}
