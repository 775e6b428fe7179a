/**
 * Checks of numeric options, shared by the library entry points (runConformance)
 * and the command-line parsers (cli/options.ts), so both word a bad value the
 * same way: `OPTION: expected a positive integer (MEANING), found VALUE`.
 */
import { ConformanceError, describeValue } from './errors.js';

/**
 * The longest delay a Node timer can hold: 2^31 - 1 ms (about 24.8 days). setTimeout
 * replaces a longer delay by 1 ms, so a larger timeout would fire at once.
 */
export const MAX_TIMER_MS = 2147483647;

export interface IntegerBounds {
  /** Smallest accepted value (default 1). */
  minimum?: number;
  /** Largest accepted value (default Number.MAX_SAFE_INTEGER). */
  maximum?: number;
  /** What to show as "found" (default: the value itself; the CLI passes the text typed). */
  found?: unknown;
}

/**
 * What a value in [minimum, maximum] is called in messages. An upper bound is named only when
 * the value is above it, so `found "0"` reads "expected a positive integer".
 */
function expectation(minimum: number, maximum: number, above: boolean): string {
  const bounded = above || maximum !== Number.MAX_SAFE_INTEGER && minimum !== 1;
  if (!bounded) return minimum === 1 ? 'a positive integer' : `an integer of at least ${minimum}`;
  if (minimum === 1) return `a positive integer of at most ${maximum}`;
  return `an integer from ${minimum} to ${maximum}`;
}

/** The note for a timeout above what a timer holds. */
export const TIMER_LIMIT_NOTE = 'a timer holds about 24.8 days at most';

/**
 * `value` when it is a safe integer within the bounds; otherwise E_USAGE naming
 * the option, what it means, the bounds, and what was found.
 */
export function checkInteger(value: unknown, option: string, meaning: string, bounds: IntegerBounds = {}): number {
  const minimum = bounds.minimum ?? 1;
  const maximum = bounds.maximum ?? Number.MAX_SAFE_INTEGER;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    const found = 'found' in bounds ? bounds.found : value;
    const above = typeof value === 'number' && value > maximum;
    const why = above && maximum === MAX_TIMER_MS ? `${meaning}; ${TIMER_LIMIT_NOTE}` : meaning;
    throw new ConformanceError('E_USAGE', `${option}: expected ${expectation(minimum, maximum, above)} (${why}), found ${describeValue(found)}`, { option, value: found, minimum, maximum });
  }
  return value;
}

/** A positive safe integer, or E_USAGE. */
export function checkPositiveInteger(value: unknown, option: string, meaning: string, found?: unknown): number {
  return checkInteger(value, option, meaning, found === undefined ? {} : { found });
}

/** A positive whole number of milliseconds that a timer can hold (at most MAX_TIMER_MS), or E_USAGE. */
export function checkMilliseconds(value: unknown, option: string, meaning: string, found?: unknown): number {
  return checkInteger(value, option, meaning, found === undefined ? { maximum: MAX_TIMER_MS } : { maximum: MAX_TIMER_MS, found });
}
