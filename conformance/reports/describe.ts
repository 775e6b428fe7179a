/**
 * Words for outcomes, shared by the console and JUnit reports: what failed,
 * where, by how much, and the command that reruns one fixture.
 */
import { roundToDtype } from '../../src/dtype.js';
import type { Dtype, OutputMetrics, Outcome } from '../../src/types.js';
import { DEFAULT_TIMEOUT_MS, type RunResult } from '../run.js';

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

/** One line about a failing output: error in bound units, worst element, expected vs got, how many fail. */
export function describeOutputFailure(metrics: OutputMetrics, dtype: Dtype): string {
  const worst = metrics.worst;
  const count = `${metrics.failingElements} of ${metrics.elements} element${metrics.elements === 1 ? '' : 's'} fail`;
  if (worst === null) return `${metrics.output}: ${count}`;
  const at = `(${worst.index.join(', ')})`;
  if (Number.isFinite(worst.expected) && !Number.isFinite(worst.got)) {
    return `${metrics.output}: non-finite result at ${at}: expected ${formatValue(worst.expected, 'float64')}, got ${formatValue(worst.got, dtype)} (${count})`;
  }
  if (!Number.isFinite(worst.expected)) {
    return `${metrics.output}: at ${at} expected ${formatValue(worst.expected, 'float64')}, got ${formatValue(worst.got, dtype)} (${count})`;
  }
  const size = Number.isFinite(metrics.maxErrorInBounds) ? `error ${formatQuantity(metrics.maxErrorInBounds)}x bound` : 'error beyond any bound';
  return `${metrics.output}: ${size} at ${at}: expected ${formatValue(worst.expected, 'float64')}, got ${formatValue(worst.got, dtype)} (bound ${formatQuantity(worst.bound)}; ${count})`;
}

/** The one-line summary of a non-passing outcome. */
export function describeOutcome(outcome: Outcome): string {
  switch (outcome.status) {
    case 'fail':
      return outcome.outputs
        .filter((metrics) => metrics.failingElements > 0)
        .map((metrics) => describeOutputFailure(metrics, outcome.dtype))
        .join('; ');
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

/** The command that reruns one fixture. */
export function reproCommand(result: Pick<RunResult, 'impl' | 'corpus' | 'timeoutMs'>, id: string): string {
  const parts = ['conformance-runner', '--impl', shellQuote(result.impl)];
  if (!result.corpus.bundled) parts.push('--fixtures', shellQuote(result.corpus.dir));
  if (result.timeoutMs !== DEFAULT_TIMEOUT_MS) parts.push('--timeout', String(result.timeoutMs));
  parts.push('--only', shellQuote(id));
  return parts.join(' ');
}
