/**
 * The console report, streamed: the header (adapter, capabilities, corpus version
 * and digest, selection) as soon as the run starts; a line per FAIL, ERROR,
 * TIMEOUT and MISSING as it happens (the fixture's geometry, what went wrong in
 * words, a command to rerun it alone); at the end the repeated messages grouped
 * (count and first ids), the likely cause, the families and tags with failures
 * (sorted by failure share; every one with --verbose), the skip reasons and the final line
 *   `N passed, N failed, N skipped, N errors (E errors, T timeouts, M missing)`
 * where "errors" counts errors, timeouts and missing outputs together.
 *
 * ConsoleReporter is wired to runConformance's onStart / onOutcome callbacks;
 * formatConsoleReport gives the same text at once from a finished run.
 */
import { SingleBar } from 'cli-progress';
import type { OutcomeStatus, Outcome } from '../../src/types.js';
import { likelyCauses, type LikelyCause } from '../diagnosis/rank.js';
import type { AdapterLayouts } from '../layout.js';
import { compareIds } from '../shard.js';
import type { FixtureDetail, RunResult, RunStartInfo } from '../run.js';
import { describeGeometry, describeOutcome, errorClass, reproCommand, runnerCommand } from './describe.js';

export interface ConsoleOptions {
  /** ANSI colours (see shouldColor). */
  color: boolean;
  /** Also list passing and skipped fixtures, every repeated message and every tag. */
  verbose?: boolean;
  /** How repro lines start (default: runnerCommand(), `npx conformance-runner` under npx). */
  launcher?: string;
  /** The repro lines of fixtures that are not corpus fixtures (fuzz cases: shrunk, with --fuzz-replay), by id. */
  reproLines?: (id: string) => string[] | undefined;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
type Colour = keyof typeof CODES;
type Paint = (colour: Colour, text: string) => string;

function painter(enabled: boolean): Paint {
  return (colour, text) => (enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text);
}

/**
 * Whether to colour output written to `stream`: FORCE_COLOR set to anything but
 * '' / '0' / 'false' turns colour on; otherwise a TTY with NO_COLOR unset or empty.
 */
export function shouldColor(stream: { isTTY?: boolean }, environment: NodeJS.ProcessEnv = process.env): boolean {
  const force = environment.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
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

/** Full blocks printed per kind of message; later fixtures with the same kind are grouped at the end. */
export const SHOWN_PER_GROUP = 2;
/** Ids listed for a group of repeated messages. */
export const GROUP_IDS = 5;
/** Tag rows listed without --verbose. */
export const TAG_ROWS = 10;

/** The final line; "errors" includes timeouts and missing outputs. */
export function summaryLine(counts: Record<OutcomeStatus, number>): string {
  const errors = counts.error + counts.timeout + counts.missing;
  return (
    `${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped, ${errors} error${errors === 1 ? '' : 's'} ` +
    `(${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.timeout} timeout${counts.timeout === 1 ? '' : 's'}, ${counts.missing} missing)`
  );
}

function isFailing(outcome: Outcome): boolean {
  return outcome.status !== 'pass' && outcome.status !== 'skipped';
}

/**
 * What makes two non-passing outcomes "the same message": the status and the message
 * with its numbers blanked (errors), or per failing output the kind of error (fails).
 */
export function groupKey(outcome: Outcome): string {
  if (outcome.status === 'fail') {
    const parts = outcome.outputs
      .filter((metrics) => metrics.failingElements > 0)
      .map((metrics) => `${metrics.output}:${metrics.worst === null ? 'none' : (errorClass(metrics.worst.expected, metrics.worst.got) ?? 'size')}`);
    return `fail ${parts.join(' ')}`;
  }
  const text = outcome.status === 'timeout' ? 'timeout' : outcome.status === 'error' || outcome.status === 'missing' ? outcome.message : '';
  return `${outcome.status} ${text.split(outcome.id).join('<id>').replace(/\d+(\.\d+)?(e[+-]?\d+)?/gi, '#')}`;
}

interface Group {
  first: Outcome;
  text: string;
  ids: string[];
}

interface Tally {
  ran: number;
  failing: number;
  pass: number;
  skipped: number;
}

function tally(outcomes: readonly Outcome[], key: (outcome: Outcome) => readonly string[]): Map<string, Tally> {
  const table = new Map<string, Tally>();
  for (const outcome of outcomes) {
    for (const name of key(outcome)) {
      let row = table.get(name);
      if (row === undefined) {
        row = { ran: 0, failing: 0, pass: 0, skipped: 0 };
        table.set(name, row);
      }
      if (outcome.status === 'skipped') row.skipped++;
      else row.ran++;
      if (outcome.status === 'pass') row.pass++;
      else if (isFailing(outcome)) row.failing++;
    }
  }
  return table;
}

function renderTable(title: string, rows: [string, Tally][], paint: Paint): string[] {
  const width = Math.max(title.length, ...rows.map(([name]) => name.length));
  const lines = [paint('bold', `  ${title.padEnd(width)}  ${'failing'.padStart(7)}  ${'ran'.padStart(5)}  ${'share'.padStart(5)}  ${'skipped'.padStart(7)}`)];
  for (const [name, row] of rows) {
    const share = row.ran === 0 ? '-' : `${Math.round((100 * row.failing) / row.ran)}%`;
    const failing = String(row.failing).padStart(7);
    lines.push(`  ${name.padEnd(width)}  ${row.failing > 0 ? paint('red', failing) : failing}  ${String(row.ran).padStart(5)}  ${share.padStart(5)}  ${String(row.skipped).padStart(7)}`);
  }
  return lines;
}

/** Rows with failures, highest failure share first (then most failures, then name); all rows by name with `all`. */
function selectRows(table: Map<string, Tally>, all: boolean): [string, Tally][] {
  const rows = [...table];
  if (all) return rows.sort(([a], [b]) => compareIds(a, b));
  return rows
    .filter(([, row]) => row.failing > 0)
    .sort(([a, x], [b, y]) => y.failing / y.ran - x.failing / x.ran || y.failing - x.failing || compareIds(a, b));
}

/** The header: adapter and capabilities, corpus version and digest, selection. */
export function headerLines(info: Pick<RunStartInfo, 'capabilities' | 'corpus' | 'selection'>, paint: Paint = painter(false)): string[] {
  const { capabilities, corpus, selection } = info;
  const supports =
    capabilities.supports === 'function'
      ? 'supports(): function'
      : `supports: ${Object.entries(capabilities.supports)
          .map(([flag, value]) => `${flag}=${value}`)
          .join(' ')}`;
  const chosen = [
    selection.filter === null ? null : `filter ${selection.filter}`,
    selection.only === null ? null : `only ${selection.only.join(',')}`,
    selection.shard === null ? null : `shard ${selection.shard.index}/${selection.shard.count}`,
  ].filter((part) => part !== null);
  return [
    `adapter ${capabilities.name}: ${capabilities.layout}/${capabilities.filterLayout}, dtypes ${capabilities.dtypes.join(' ')}, outputs ${capabilities.outputs.join(' ')}, ${supports}`,
    `corpus ${corpus.corpusVersion} (digest ${corpus.digest.slice(0, 12)}) at ${corpus.dir}: ${selection.selected} of ${corpus.fixtureCount} fixtures selected` +
      (chosen.length > 0 ? ` (${chosen.join(', ')})` : ''),
    ...(corpus.pin === undefined ? [] : [corpus.pin.status === 'mismatch' ? paint('red', paint('bold', corpus.pin.message)) : `corpus ${corpus.pin.message}`]),
  ];
}

/** The likely-cause section (empty when there is none). */
export function likelyCauseLines(causes: readonly LikelyCause[], paint: Paint = painter(false)): string[] {
  if (causes.length === 0) return [];
  const lines = [paint('bold', 'Likely cause:')];
  causes.forEach((cause, rank) => {
    lines.push(`  ${rank + 1}. ${cause.title} (fit ${cause.score.toFixed(2)}): ${cause.evidence}`);
    lines.push(paint('dim', `     check: ${cause.hint}`));
  });
  return lines;
}

/** A progress bar on a TTY; nothing elsewhere. `clear` wipes it before other output is written. */
interface Progress {
  start(total: number): void;
  tick(done: number): void;
  clear(): void;
  stop(): void;
}

function progressBar(stream: NodeJS.WriteStream | null | undefined): Progress {
  if (stream === null || stream === undefined || stream.isTTY !== true) return { start: () => {}, tick: () => {}, clear: () => {}, stop: () => {} };
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
    clear: () => {
      if (started) {
        stream.cursorTo(0);
        stream.clearLine(0);
      }
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

export interface ReporterOptions extends ConsoleOptions {
  /** Where the report goes, line by line as the run goes (e.g. text => process.stdout.write(text)). */
  write: (text: string) => void;
  /** The progress bar's stream; shown only when it is a TTY (and not with --verbose). */
  progress?: NodeJS.WriteStream | null;
}

/**
 * The streaming console report. Call start, outcome (for each outcome as it comes)
 * and finish; each writes its lines at once.
 */
export class ConsoleReporter {
  private readonly paint: Paint;
  private readonly progress: Progress;
  private readonly groups = new Map<string, Group>();
  private layouts: AdapterLayouts | undefined;
  private impl: Pick<RunResult, 'impl' | 'corpus' | 'timeoutMs'> | undefined;

  constructor(private readonly options: ReporterOptions) {
    this.paint = painter(options.color);
    this.progress = progressBar(options.verbose === true ? null : options.progress);
  }

  private emit(lines: string[]): void {
    if (lines.length === 0) return;
    this.progress.clear();
    this.options.write(`${lines.join('\n')}\n`);
  }

  /** The header; `repro` is what repro lines need (the --impl value, the corpus and the timeout). */
  start(info: Pick<RunStartInfo, 'capabilities' | 'corpus' | 'selection' | 'total'>, repro: Pick<RunResult, 'impl' | 'timeoutMs'> & Partial<Pick<RunResult, 'gradcheck'>>): void {
    this.layouts = { layout: info.capabilities.layout, filterLayout: info.capabilities.filterLayout };
    this.impl = { impl: repro.impl, timeoutMs: repro.timeoutMs, corpus: info.corpus, ...(repro.gradcheck === true ? { gradcheck: true } : {}) };
    this.emit([...headerLines(info, this.paint), '']);
    this.progress.start(info.total);
  }

  /** One outcome: a block for a non-passing one (or one line for a repeat of an already shown message). */
  outcome(outcome: Outcome, progress: { done: number }, detail?: FixtureDetail): void {
    this.emit(this.outcomeLines(outcome, detail));
    this.progress.tick(progress.done);
  }

  private outcomeLines(outcome: Outcome, detail: FixtureDetail | undefined): string[] {
    const { paint } = this;
    const verbose = this.options.verbose === true;
    const label = paint(LABEL_COLOURS[outcome.status], LABELS[outcome.status].padEnd(7));
    const geometry = detail === undefined ? '' : ` (${describeGeometry(detail)})`;
    const text = describeOutcome(outcome, { detail, layouts: this.layouts });
    if (!isFailing(outcome)) {
      if (!verbose) return [];
      return [`${label} ${outcome.id}  ${text}`, ...(outcome.notes ?? []).map((note) => paint('dim', `        note: ${note}`))];
    }
    const key = groupKey(outcome);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { first: outcome, text, ids: [] };
      this.groups.set(key, group);
    }
    group.ids.push(outcome.id);
    const shown = group.ids.length;
    if (!verbose && shown > SHOWN_PER_GROUP) {
      return shown === SHOWN_PER_GROUP + 1 ? [paint('dim', `        (more fixtures fail like ${group.first.id}: grouped at the end)`)] : [];
    }
    const lines = [`${label} ${outcome.id}${geometry}  ${text}`];
    if (outcome.status === 'error' && outcome.detail !== undefined && verbose) {
      for (const line of outcome.detail.split('\n')) lines.push(paint('dim', `        ${line}`));
    }
    for (const note of outcome.notes ?? []) lines.push(paint('dim', `        note: ${note}`));
    const special = this.options.reproLines?.(outcome.id);
    if (special !== undefined) lines.push(...special.map((line) => paint('dim', `        ${line}`)));
    else if (this.impl !== undefined) lines.push(paint('dim', `        repro: ${reproCommand(this.impl, outcome.id, this.options.launcher ?? runnerCommand())}`));
    return lines;
  }

  /** Remove the progress bar (a run that ended in an error). */
  stop(): void {
    this.progress.stop();
  }

  /** Everything after the last outcome. */
  finish(result: RunResult, causes: readonly LikelyCause[] = likelyCauses(result.outcomes)): void {
    this.progress.stop();
    this.emit(this.footerLines(result, causes));
  }

  private footerLines(result: RunResult, causes: readonly LikelyCause[]): string[] {
    const { paint } = this;
    const verbose = this.options.verbose === true;
    const lines: string[] = [];
    const repeated = [...this.groups.values()].filter((group) => group.ids.length > SHOWN_PER_GROUP);
    if (!verbose && repeated.length > 0) {
      lines.push(paint('bold', 'Repeated:'));
      for (const group of repeated) {
        const ids = group.ids.slice(0, GROUP_IDS).join(', ');
        const more = group.ids.length > GROUP_IDS ? `, ... (${group.ids.length - GROUP_IDS} more)` : '';
        lines.push(`  ${group.ids.length} fixtures ${LABELS[group.first.status]} like ${group.first.id}: ${group.text}`);
        lines.push(paint('dim', `    ${ids}${more}`));
      }
    }
    const noted = result.outcomes.filter((outcome) => !isFailing(outcome) && (outcome.notes?.length ?? 0) > 0);
    if (!verbose && noted.length > 0) {
      const distinct = new Map<string, number>();
      for (const outcome of noted) for (const note of outcome.notes ?? []) distinct.set(note, (distinct.get(note) ?? 0) + 1);
      lines.push(paint('bold', 'Notes:'));
      for (const [note, count] of distinct) lines.push(`  ${count} fixture${count === 1 ? '' : 's'}: ${note}`);
    }
    lines.push(...likelyCauseLines(causes, paint));
    if (result.determinism !== null) {
      const { repeat, nondeterministic } = result.determinism;
      if (nondeterministic.length === 0) lines.push(`Determinism: every output bitwise identical over ${repeat} calls per fixture`);
      else {
        lines.push(paint('red', `Not deterministic: ${nondeterministic.length} fixture${nondeterministic.length === 1 ? '' : 's'} gave different bits over ${repeat} calls`));
        for (const item of nondeterministic.slice(0, verbose ? undefined : GROUP_IDS)) lines.push(`  ${item.id}: ${item.outputs.join(', ')}`);
        if (!verbose && nondeterministic.length > GROUP_IDS) lines.push(`  ... (${nondeterministic.length - GROUP_IDS} more)`);
      }
    }
    if (result.stopped !== null) {
      lines.push(paint('red', `Stopped after ${result.stopped.maxFailures} failing fixture${result.stopped.maxFailures === 1 ? '' : 's'}: ${result.stopped.notRun} not run`));
    }

    const ran = result.outcomes.filter((outcome) => outcome.status !== 'skipped');
    const failing = ran.filter(isFailing);
    if (failing.length > 0 && failing.length === ran.length && !verbose) {
      lines.push(`Every fixture that ran failed (${ran.length}): no family or tag stands out`);
    } else if (failing.length > 0 || verbose) {
      const families = selectRows(tally(result.outcomes, (outcome) => [outcome.family]), verbose);
      lines.push(paint('bold', verbose ? 'By family:' : 'Families with failures:'));
      lines.push(...renderTable('family', families, paint));
      const tags = selectRows(tally(result.outcomes, (outcome) => outcome.tags), verbose);
      lines.push(paint('bold', verbose ? 'By tag:' : 'Tags with failures (highest share first):'));
      lines.push(...renderTable('tag', verbose ? tags : tags.slice(0, TAG_ROWS), paint));
      if (!verbose && tags.length > TAG_ROWS) lines.push(paint('dim', `  ... ${tags.length - TAG_ROWS} more tags with failures (--verbose lists every tag)`));
    }

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
      lines.push(`Not selected: ${result.selection.notSelected} of ${result.corpus.fixtureCount} fixtures (left out by --only, --filter or --shard)`);
    }
    const clean = result.counts.fail + result.counts.error + result.counts.timeout + result.counts.missing === 0 && result.counts.pass > 0;
    lines.push(paint(clean ? 'green' : 'red', summaryLine(result.counts)));
    if (result.counts.pass === 0 && result.counts.fail + result.counts.error + result.counts.timeout + result.counts.missing === 0) {
      lines.push(paint('red', 'nothing ran: every selected fixture was skipped, so the run does not pass'));
    }
    return lines;
  }
}

/** The whole console report of a finished run as text (ends with a newline): what the streaming reporter writes. */
export function formatConsoleReport(result: RunResult, options: ConsoleOptions): string {
  const chunks: string[] = [];
  const reporter = new ConsoleReporter({ ...options, write: (text) => chunks.push(text), progress: null });
  reporter.start({ ...result, total: result.selection.selected }, result);
  for (const outcome of result.outcomes) reporter.outcome(outcome, { done: 0 }, result.details?.[outcome.id]);
  reporter.finish(result);
  return chunks.join('');
}
