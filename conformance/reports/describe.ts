/**
 * Words for outcomes, shared by the console and JUnit reports: what failed,
 * where, by how much, and the command that reruns one fixture.
 */
import { roundToDtype } from '../../src/dtype.js';
import type { Dtype, GradcheckSummary, OutputMetrics, Outcome, ScoredName } from '../../src/types.js';
import { ACTIVATION_AXES, FILTER_AXES, type AdapterLayouts } from '../layout.js';
import { DEFAULT_TIMEOUT_MS, type FixtureDetail, type RunResult } from '../run.js';

/** The shortest decimal that reads back as `value` in `dtype` (float64: JavaScript's own shortest form). */
export function formatValue(value: number, dtype: Dtype): string {
  if (!Number.isFinite(value)) return String(value);
  if (Object.is(value, -0)) return '-0';
  if (dtype === 'float64') return String(value);
  const roundTrip = (candidate: number): number => roundToDtype(candidate, dtype);
  if (roundTrip(value) !== value) return String(value);
  for (let digits = 1; digits <= 17; digits++) {
    const text = value.toPrecision(digits);
    if (roundTrip(Number(text)) === value) return String(Number(text));
  }
  return String(value);
}

/** A ratio or error for humans: 3 significant digits, exponent form for very small or large values. */
export function formatQuantity(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e6) return String(Number(value.toPrecision(3)));
  return value.toExponential(2);
}

/** What describing an outcome can use beyond the outcome itself. */
export interface DescribeContext {
  /** The fixture's parameters, shapes and rule (RunResult.details). */
  detail?: FixtureDetail;
  /** The adapter's declared layouts: the worst element is given in them. */
  layouts?: AdapterLayouts;
}

const ACTIVATION_AXIS_NAMES = ['n', 'c', 'h', 'w'] as const;
const FILTER_AXIS_NAMES = ['o', 'i', 'h', 'w'] as const;

/**
 * A corpus-layout index (NCHW for dx, OIHW for dw, [Cout] for db) written in the
 * adapter's layout with axis labels: dx (0, 1, 4, 1) for NHWC is `n=0 h=4 w=1 c=1`.
 */
export function labelledIndex(output: ScoredName, index: readonly number[], layouts: AdapterLayouts = { layout: 'NCHW', filterLayout: 'OIHW' }): string {
  if (output === 'db') return `o=${index[0]}`;
  // y is an activation like dx (its channel axis is the output channel).
  const activation = output === 'dx' || output === 'y';
  const axes = activation ? ACTIVATION_AXES[layouts.layout] : FILTER_AXES[layouts.filterLayout];
  const names = activation ? ACTIVATION_AXIS_NAMES : FILTER_AXIS_NAMES;
  return axes.map((axis) => `${names[axis]}=${index[axis]}`).join(' ');
}

/** The fixture's geometry for a FAIL line: `x 2x3x7x6 w 4x3x3x3 stride 2,1 dilation 1,1 pads t1 b0 l1 r1 groups 1`. */
export function describeGeometry(detail: FixtureDetail): string {
  const { params, shapes } = detail;
  const { pads } = params;
  return (
    `x ${shapes.x.join('x')} w ${shapes.w.join('x')} stride ${params.stride.join(',')} dilation ${params.dilation.join(',')} ` +
    `pads t${pads.top} b${pads.bottom} l${pads.left} r${pads.right} groups ${params.groups}`
  );
}

/**
 * The kind of a failing element's error, when it is not merely a size: a
 * non-finite value where a finite one is expected, the wrong sign, zero where
 * the value is non-zero, or a special value (NaN, ±Infinity) not reproduced.
 */
export function errorClass(expected: number, got: number): string | null {
  if (Number.isFinite(expected) && !Number.isFinite(got)) return 'a non-finite value where a finite one is expected';
  if (!Number.isFinite(expected)) return Number.isNaN(expected) ? 'NaN expected, not reproduced' : `${expected > 0 ? '+' : '-'}Infinity expected, not reproduced`;
  if (expected !== 0 && got === 0) return 'zero where the value is non-zero';
  if (expected !== 0 && got !== 0 && Math.sign(expected) !== Math.sign(got)) return 'the wrong sign';
  return null;
}

/** One line about a failing output: the rule broken in words, worst element (labelled, adapter layout), expected vs got, how many fail. */
export function describeOutputFailure(metrics: OutputMetrics, dtype: Dtype, context: DescribeContext = {}): string {
  const worst = metrics.worst;
  const count = `${metrics.failingElements} of ${metrics.elements} element${metrics.elements === 1 ? '' : 's'} fail`;
  if (worst === null) return `${metrics.output}: ${count}`;
  const layout = context.layouts === undefined ? (metrics.output === 'db' ? '' : metrics.output === 'dx' || metrics.output === 'y' ? 'NCHW ' : 'OIHW ') : '';
  const at = `at ${layout}${labelledIndex(metrics.output, worst.index, context.layouts)}`;
  const values = `expected ${formatValue(worst.expected, 'float64')}, got ${formatValue(worst.got, dtype)}`;
  const kind = errorClass(worst.expected, worst.got);
  if (kind !== null) return `${metrics.output}: ${kind} ${at}: ${values} (${count})`;
  if (context.detail?.rule === 'exact') {
    return `${metrics.output}: not bit-exact (exact rule: every partial sum is representable) ${at}: ${values} (${count})`;
  }
  const size = Number.isFinite(metrics.maxErrorInBounds) ? `error ${formatQuantity(metrics.maxErrorInBounds)} times the proven bound` : 'error beyond any bound';
  return `${metrics.output}: ${size} ${at}: ${values} (bound ${formatQuantity(worst.bound)}; ${count})`;
}

/**
 * The failing checks of --gradcheck in one phrase: which identity or element, the difference
 * and its proven bound (`gradcheck adjoint-x: |<y,dy> - (<x,dx> + <b,db>)| = 3.2e-1 > bound 4.1e-5`).
 */
export function describeGradcheckFailure(summary: GradcheckSummary): string {
  if (summary.status !== 'fail') return '';
  const failed = summary.checks.flatMap((check) => (check.status === 'fail' ? [check] : []));
  if (failed.length === 0) return `gradcheck: ${summary.reason ?? 'failed'}`;
  const shown = failed.slice(0, 3).map((check) => {
    const sides = check.name.startsWith('adjoint-')
      ? `|<y,dy> - (<${check.name.slice(-1)},d${check.name.slice(-1)}> + <b,db>)|`
      : `|central difference - ${check.name.replace('difference-', 'd')}| (${formatQuantity(check.left)} vs ${formatQuantity(check.right)})`;
    return `${check.name}: ${sides} = ${formatQuantity(check.difference)} > bound ${formatQuantity(check.bound)}`;
  });
  const more = failed.length > shown.length ? `; ${failed.length - shown.length} more` : '';
  return `gradcheck (${summary.dtype}) ${shown.join('; ')}${more}`;
}

/** The one-line summary of a non-passing outcome. */
export function describeOutcome(outcome: Outcome, context: DescribeContext = {}): string {
  switch (outcome.status) {
    case 'fail':
      return [
        ...outcome.outputs.filter((metrics) => metrics.failingElements > 0).map((metrics) => describeOutputFailure(metrics, outcome.dtype, context)),
        ...(outcome.gradcheck?.status === 'fail' ? [describeGradcheckFailure(outcome.gradcheck)] : []),
      ].join('; ');
    case 'error':
      return outcome.message;
    case 'timeout':
      return `no answer within ${outcome.timeoutMs} ms (the adapter's process was killed)`;
    case 'missing':
      return outcome.message;
    case 'skipped':
      return outcome.reason;
    case 'pass':
      return `pass (${outcome.grade})`;
  }
}

const SAFE_ARGUMENT = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** Quote an argument for a POSIX shell when it needs it. */
export function shellQuote(argument: string): string {
  if (argument !== '' && SAFE_ARGUMENT.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

/**
 * How to start the runner again where the user ran it, for repro lines: under npm
 * (npx / npm exec, or an npm script; npm sets npm_command) the bin is only on the
 * PATH npm builds, so `npx conformance-runner`; otherwise (a global install, a
 * shell with the bin on PATH) `conformance-runner`.
 */
export function runnerCommand(environment: NodeJS.ProcessEnv = process.env): string {
  const viaNpm = environment.npm_command !== undefined && environment.npm_command !== '';
  return viaNpm ? 'npx conformance-runner' : 'conformance-runner';
}

/** The command that reruns one fixture. */
export function reproCommand(result: Pick<RunResult, 'impl' | 'corpus' | 'timeoutMs'> & Partial<Pick<RunResult, 'fuzz' | 'gradcheck'>>, id: string, launcher: string = runnerCommand()): string {
  const parts = [launcher, '--impl', shellQuote(result.impl)];
  if (result.gradcheck === true) parts.push('--gradcheck');
  // A fuzz case is replayed from its one-line form (the shrunk one when there is one).
  const failure = result.fuzz?.failures.find((candidate) => candidate.id === id);
  if (failure !== undefined) return [...parts, '--fuzz-replay', shellQuote(failure.shrunk?.case ?? failure.case)].join(' ');
  if (!result.corpus.bundled) parts.push('--fixtures', shellQuote(result.corpus.dir));
  if (result.timeoutMs !== DEFAULT_TIMEOUT_MS) parts.push('--timeout', String(result.timeoutMs));
  parts.push('--only', shellQuote(id));
  return parts.join(' ');
}
