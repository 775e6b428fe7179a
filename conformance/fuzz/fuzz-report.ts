/**
 * What a fuzz run prints: the header line with the seed, the repro lines of a
 * failure (its shrunk case, the --fuzz-replay command, the saved fixture), and
 * the closing summary.
 */
import { runnerCommand, shellQuote } from '../reports/describe.js';
import type { FuzzFailure, FuzzSummary } from './run-fuzz.js';

/** The header line: how many cases, from which seed, and how to draw the same ones again. */
export function fuzzHeaderLine(requested: number, seed: number, replay: boolean): string {
  return replay ? `fuzz: replaying one case` : `fuzz: ${requested} cases from seed ${seed} (the same cases again: --fuzz ${requested} --seed ${seed})`;
}

/** The lines printed under a failing fuzz case. */
export function fuzzFailureLines(failure: FuzzFailure, impl: string, launcher: string = runnerCommand(), flags: readonly string[] = []): string[] {
  const shrunk = failure.shrunk;
  const minimal = shrunk?.case ?? failure.case;
  const lines = [`case: ${failure.case}`];
  if (shrunk !== null) {
    lines.push(`shrunk (${shrunk.steps} steps, ${shrunk.runs} adapter runs${shrunk.exhausted ? ', run budget spent' : ''}; ${failure.macs} -> ${shrunk.macs} MACs, ${shrunk.status}): ${shrunk.case}`);
  }
  lines.push(`repro: ${launcher} --impl ${shellQuote(impl)}${flags.map((flag) => ` ${flag}`).join('')} --fuzz-replay ${shellQuote(minimal)}`);
  if (failure.saved !== null) lines.push(`saved: ${failure.saved}`);
  return lines;
}

/** The closing lines of a fuzz run. */
export function fuzzSummaryLines(summary: FuzzSummary, impl: string, saveDir: string | undefined, launcher: string = runnerCommand()): string[] {
  const stopped = summary.stoppedByTime ? ` (--fuzz-time ${summary.timeSeconds}s reached)` : '';
  const lines = [
    `fuzz: ${summary.cases} of ${summary.requested} cases run from seed ${summary.seed}${stopped}; cases digest ${summary.casesDigest.slice(0, 12)}; ` +
      `mean ${Math.round(summary.meanMacs)} MACs, largest ${summary.maxMacs}; oracle ${summary.oracleSeconds.toFixed(1)}s, shrinking ${summary.shrinkSeconds.toFixed(1)}s`,
  ];
  if (summary.failures.length === 0) return lines;
  lines.push(`fuzz: ${summary.failures.length} failing case${summary.failures.length === 1 ? '' : 's'}, minimal form:`);
  for (const failure of summary.failures) lines.push(`  ${failure.shrunk?.id ?? failure.id}: ${failure.shrunk?.case ?? failure.case}`);
  if (saveDir !== undefined) lines.push(`saved as fixtures; replay them with: ${launcher} --impl ${shellQuote(impl)} --fixtures ${shellQuote(saveDir)}`);
  return lines;
}
