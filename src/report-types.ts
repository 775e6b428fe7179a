/**
 * The JSON report the conformance runner writes with --json (schema/report.schema.json).
 *
 * JSON has no Infinity or NaN, so every metric that can be non-finite is a
 * ReportNumber: a JSON number when finite, else one of the strings "Infinity",
 * "-Infinity", "NaN". (-0 is written as 0.)
 */
import type { PrecisionClass } from './precision-class.js';
import type { AdapterCapabilities, DataFamily, Dtype, FailingName, GradcheckSummary, OutcomeStatus, OutputName, PassGrade, ScoredName } from './types.js';

export type ReportNumber = number | 'Infinity' | '-Infinity' | 'NaN';

export const REPORT_FORMAT = 'conv2d-backward-conformance-report';
export const REPORT_VERSION = 2;

export interface ReportWorstElement {
  /** Index in the corpus layout: (n, c, h, w) for dx, (o, i, h, w) for dw, (o) for db. */
  index: number[];
  flatIndex: number;
  expected: ReportNumber;
  got: ReportNumber;
  bound: ReportNumber;
}

export interface ReportOutputMetrics {
  output: ScoredName;
  elements: number;
  failingElements: number;
  maxErrorInBounds: ReportNumber;
  maxErrorInTypical: ReportNumber;
  maxUlp: ReportNumber;
  maxAbsError: ReportNumber;
  maxRelError: ReportNumber;
  worst: ReportWorstElement | null;
  grade: PassGrade | null;
}

/**
 * One fixture's outcome. The fields present depend on `status`:
 * pass: grade, outputs, seconds; fail: failing, outputs, seconds; error: message (detail);
 * timeout: timeoutMs; skipped: reason; missing: message.
 */
export interface ReportOutcome {
  id: string;
  family: DataFamily;
  dtype: Dtype;
  tags: string[];
  status: OutcomeStatus;
  notes: string[];
  grade?: PassGrade;
  failing?: FailingName[];
  outputs?: ReportOutputMetrics[];
  /** Seconds inside the adapter for this fixture. */
  seconds?: number;
  message?: string;
  detail?: string;
  timeoutMs?: number;
  reason?: string;
  /** The precision class the fixture was judged under (present when the adapter declared one). */
  precision?: PrecisionClass;
  /** --gradcheck: the checks of the adapter's backward against its own forward. */
  gradcheck?: ReportGradcheck;
}

/** --gradcheck on one fixture (types.ts GradcheckSummary; every number finite). */
export type ReportGradcheck = GradcheckSummary;

/** A likely cause of the failures (conformance/diagnosis): best first in Report.likelyCauses. */
export interface ReportLikelyCause {
  /** Signature id (conformance/diagnosis/signatures.ts). */
  cause: string;
  /** The cause in words, e.g. 'dilation ignored in dx'. */
  title: string;
  /** What to look at in the implementation. */
  hint: string;
  /** recall * precision * consistency of the signature over the failing (fixture, output) pairs, in [0, 1]. */
  score: number;
  recall: number;
  precision: number;
  consistency: number;
  /** The observation in words: 'dx fails on 60 of 66 fixtures tagged dilated; 0 failing outputs elsewhere'. */
  evidence: string;
}

/** --repeat N: fixtures whose outputs were not bitwise identical over N calls. */
export interface ReportDeterminism {
  repeat: number;
  nondeterministic: { id: string; outputs: OutputName[] }[];
}

/** A fuzz failure: the case as drawn, its shrunk form, and where --save-failures wrote it. */
export interface ReportFuzzFailure {
  id: string;
  /** The failing case as drawn, in its one-line form (conformance/fuzz/fuzz-case.ts). */
  case: string;
  status: OutcomeStatus;
  /** Forward MACs of the case: N*Cout*OH*OW*(C/G)*KH*KW. */
  macs: number;
  shrunk: { id: string; case: string; macs: number; steps: number; runs: number; exhausted: boolean; status: OutcomeStatus } | null;
  saved: string | null;
}

/** The fuzz section of a --fuzz (or --fuzz-replay) run. */
export interface ReportFuzz {
  seed: number;
  /** --fuzz N (1 for --fuzz-replay). */
  requested: number;
  /** Cases run (fewer when --fuzz-time or --max-failures stopped the drawing). */
  cases: number;
  timeSeconds: number | null;
  stoppedByTime: boolean;
  /** The case of --fuzz-replay, in its one-line form. */
  replay: string | null;
  /** sha256 over the one-line forms of the cases run, one per line: equal seeds give equal digests on every machine. */
  casesDigest: string;
  meanMacs: number;
  maxMacs: number;
  /** Seconds building cases (data and the float64 oracle), and shrinking. */
  oracleSeconds: number;
  shrinkSeconds: number;
  failures: ReportFuzzFailure[];
}

export interface Report {
  format: typeof REPORT_FORMAT;
  reportVersion: typeof REPORT_VERSION;
  tool: { name: string; version: string };
  /** ISO 8601 time the report was made. */
  createdAt: string;
  /** --impl as given. */
  impl: string;
  adapter: AdapterCapabilities;
  corpus: {
    dir: string;
    corpusVersion: string;
    digest: string;
    fixtureCount: number;
    /** The corpus's digest against the one the package recorded (src/corpus-pinning.ts). */
    pin?: { status: 'match' | 'mismatch' | 'unknown-version'; pinnedDigest: string | null; message: string };
  };
  selection: {
    filter: string | null;
    only: string[] | null;
    shard: { index: number; count: number } | null;
    selected: number;
    /** Fixtures of the corpus left out by --only, --filter and --shard (corpus.fixtureCount - selected). */
    notSelected: number;
    timeoutMs: number;
    jobs: number;
  };
  counts: Record<OutcomeStatus, number>;
  exitCode: 0 | 1;
  seconds: number;
  adapterSeconds: number;
  outcomes: ReportOutcome[];
  /** Ranked likely causes; empty when nothing failed or no signature fits. */
  likelyCauses: ReportLikelyCause[];
  /** null unless the run used --repeat N with N > 1. */
  determinism: ReportDeterminism | null;
  /** Set when --bail / --max-failures stopped the run: the limit and how many selected fixtures were not run. */
  stopped: { maxFailures: number; notRun: number } | null;
  /** Present for a fuzz run (--fuzz, --fuzz-replay): the seed, the cases and every failure's shrunk case. */
  fuzz?: ReportFuzz;
}

/** Encode a number for the report (non-finite values as strings). */
export function encodeReportNumber(value: number): ReportNumber {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value === 0 ? 0 : value;
}

/** Decode a ReportNumber back into a number. */
export function decodeReportNumber(value: ReportNumber): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  return value === 'Infinity' ? Infinity : -Infinity;
}
