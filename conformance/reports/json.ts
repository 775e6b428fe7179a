/**
 * The --json report (schema/report.schema.json). Non-finite numbers are written
 * as the strings "Infinity", "-Infinity", "NaN" (see src/report-types.ts). The
 * report is validated against the schema before it is written, atomically.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/atomic-write.js';
import { checkReportDestination } from './destination.js';
import { packageRoot } from '../../src/paths.js';
import { encodeReportNumber, REPORT_FORMAT, REPORT_VERSION, type Report, type ReportOutcome, type ReportOutputMetrics } from '../../src/report-types.js';
import { validateReport } from '../../src/schemas/report-schema.js';
import type { OutputMetrics, Outcome } from '../../src/types.js';
import { likelyCauses } from '../diagnosis/rank.js';
import { exitCodeFor, type RunResult } from '../run.js';

function encodeMetrics(metrics: OutputMetrics): ReportOutputMetrics {
  const { worst } = metrics;
  return {
    output: metrics.output,
    elements: metrics.elements,
    failingElements: metrics.failingElements,
    maxErrorInBounds: encodeReportNumber(metrics.maxErrorInBounds),
    maxErrorInTypical: encodeReportNumber(metrics.maxErrorInTypical),
    maxUlp: encodeReportNumber(metrics.maxUlp),
    maxAbsError: encodeReportNumber(metrics.maxAbsError),
    maxRelError: encodeReportNumber(metrics.maxRelError),
    worst:
      worst === null
        ? null
        : {
            index: [...worst.index],
            flatIndex: worst.flatIndex,
            expected: encodeReportNumber(worst.expected),
            got: encodeReportNumber(worst.got),
            bound: encodeReportNumber(worst.bound),
          },
    grade: metrics.grade,
  };
}

export function encodeOutcome(outcome: Outcome): ReportOutcome {
  const base: ReportOutcome = {
    id: outcome.id,
    family: outcome.family,
    dtype: outcome.dtype,
    tags: [...outcome.tags],
    status: outcome.status,
    notes: [...(outcome.notes ?? [])],
    ...(outcome.precision !== undefined ? { precision: outcome.precision } : {}),
    ...(outcome.gradcheck !== undefined ? { gradcheck: outcome.gradcheck } : {}),
  };
  switch (outcome.status) {
    case 'pass':
      return { ...base, grade: outcome.grade, outputs: outcome.outputs.map(encodeMetrics), seconds: outcome.seconds };
    case 'fail':
      return { ...base, failing: [...outcome.failing], outputs: outcome.outputs.map(encodeMetrics), seconds: outcome.seconds };
    case 'error':
      return outcome.detail === undefined ? { ...base, message: outcome.message } : { ...base, message: outcome.message, detail: outcome.detail };
    case 'timeout':
      return { ...base, timeoutMs: outcome.timeoutMs };
    case 'missing':
      return { ...base, message: outcome.message };
    case 'skipped':
      return { ...base, reason: outcome.reason };
  }
}

let cachedVersion: string | undefined;

/** This package's version, from its package.json. */
export function toolVersion(): string {
  if (cachedVersion === undefined) {
    const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    cachedVersion = typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  }
  return cachedVersion;
}

/** Build the report object (validated against the schema). */
export function buildJsonReport(result: RunResult, options: { createdAt?: Date } = {}): Report {
  const report: Report = {
    format: REPORT_FORMAT,
    reportVersion: REPORT_VERSION,
    tool: { name: 'conformance-runner', version: toolVersion() },
    createdAt: (options.createdAt ?? new Date()).toISOString(),
    impl: result.impl,
    adapter: {
      ...result.capabilities,
      dtypes: [...result.capabilities.dtypes],
      outputs: [...result.capabilities.outputs],
      supports: result.capabilities.supports === 'function' ? 'function' : { ...result.capabilities.supports },
    },
    corpus: {
      dir: result.corpus.dir,
      corpusVersion: result.corpus.corpusVersion,
      digest: result.corpus.digest,
      fixtureCount: result.corpus.fixtureCount,
      ...(result.corpus.pin === undefined ? {} : { pin: { ...result.corpus.pin } }),
    },
    selection: {
      filter: result.selection.filter,
      only: result.selection.only === null ? null : [...result.selection.only],
      shard: result.selection.shard === null ? null : { ...result.selection.shard },
      selected: result.selection.selected,
      notSelected: result.selection.notSelected,
      timeoutMs: result.timeoutMs,
      jobs: result.jobs,
    },
    counts: { ...result.counts },
    exitCode: exitCodeFor(result),
    seconds: result.seconds,
    adapterSeconds: result.adapterSeconds,
    outcomes: result.outcomes.map(encodeOutcome),
    likelyCauses: likelyCauses(result.outcomes).map((cause) => ({ ...cause })),
    determinism: result.determinism === null ? null : { repeat: result.determinism.repeat, nondeterministic: result.determinism.nondeterministic.map((item) => ({ id: item.id, outputs: [...item.outputs] })) },
    stopped: result.stopped === null ? null : { ...result.stopped },
    ...(result.fuzz === undefined ? {} : { fuzz: structuredClone(result.fuzz) }),
  };
  return validateReport(report, 'the --json report');
}

/** The report as the text written to the file (2-space JSON, trailing newline). */
export function formatJsonReport(result: RunResult, options: { createdAt?: Date } = {}): string {
  return `${JSON.stringify(buildJsonReport(result, options), null, 2)}\n`;
}

export async function writeJsonReport(path: string, result: RunResult): Promise<void> {
  checkReportDestination(path, result.corpus.dir, '--json');
  await writeFileAtomic(path, formatJsonReport(result));
}
