/**
 * Shared by isolation.test.ts and isolation-errors.test.ts: each test adapter
 * misbehaves only on plain-normal-f32 (MISBEHAVE_ON), which sorts 5th of the 7
 * fixtures of the small corpus.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Report, ReportOutcome } from '../../src/report-types.js';
import { buildSmallCorpus, type SmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath, readReport, runCli, type CliRun } from './run-cli.js';

export const TARGET = 'plain-normal-f32';
/** Long enough for a healthy fixture on a loaded machine; the hanging adapters use it up. */
export const HANG_TIMEOUT_MS = 3000;

export interface Misbehaviour {
  corpus: SmallCorpus;
  run(file: string, extra?: string[]): Promise<{ run: CliRun; report: Report; target: ReportOutcome }>;
}

/** A small corpus in `root`, and a runner of the CLI with a misbehaving adapter on it. */
export async function misbehaviour(root: string): Promise<Misbehaviour> {
  const corpus = await buildSmallCorpus(join(root, 'corpus'));
  let reports = 0;
  return {
    corpus,
    async run(file, extra = []) {
      const jsonPath = join(root, `report-${++reports}.json`);
      const run = await runCli(['--impl', adapterPath(file), '--fixtures', corpus.dir, '--json', jsonPath, ...extra], { MISBEHAVE_ON: TARGET });
      const report = readReport(jsonPath);
      return { run, report, target: report.outcomes.find((outcome) => outcome.id === TARGET)! };
    },
  };
}

/** The other 5 float32/float64 fixtures pass (float16 is skipped): the run went on after the misbehaviour. */
export function othersPassed(t: Test, report: Report): void {
  const others = report.outcomes.filter((outcome) => outcome.id !== TARGET && outcome.dtype !== 'float16');
  t.same(
    others.map((outcome) => outcome.status),
    others.map(() => 'pass'),
    'every other fixture passed, including those after the misbehaving one',
  );
  const after = others.filter((outcome) => outcome.id > TARGET);
  t.ok(after.length >= 2, 'fixtures sort after the target, so a fresh process served them');
}
