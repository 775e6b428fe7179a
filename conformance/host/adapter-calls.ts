/**
 * Calling an adapter's own functions the same way in every host that loads it: the module
 * host's child (adapter-child.ts) and the browser harness page (browser/harness.ts).
 * Browser-safe: the harness is bundled by esbuild for the page, so this module (and what it
 * imports) uses no Node builtin.
 */
import { ConformanceError } from '../../src/errors.js';
import type { Adapter, FixtureMeta } from '../../src/types.js';
import type { SupportsAnswer } from './protocol.js';
import { describeKind } from './result-check.js';

/** What an adapter threw, as the runner reports it: the message (with the error's name unless plain Error) and its stack. */
export function describeThrown(error: unknown): { message: string; stack?: string } {
  if (error instanceof ConformanceError) return { message: error.message };
  if (error instanceof Error) return { message: error.message === '' ? error.name : `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`, stack: error.stack };
  return { message: `threw a non-Error value: ${describeKind(error)}` };
}

/**
 * The adapter's answer to supports(meta): supported without a supports function or on
 * `true`; unsupported with the trimmed reason string, or 'supports() returned false';
 * an error when it throws or returns anything else.
 */
export async function answerSupports(adapter: Adapter | undefined, meta: FixtureMeta): Promise<SupportsAnswer> {
  const supports = adapter?.supports;
  if (typeof supports !== 'function') return { kind: 'supported' };
  let answer: unknown;
  try {
    answer = await supports(meta);
  } catch (error) {
    const { message, stack } = describeThrown(error);
    return { kind: 'error', message: `supports() threw: ${message}`, stack };
  }
  if (answer === true) return { kind: 'supported' };
  if (typeof answer === 'string' && answer.trim() !== '') return { kind: 'unsupported', reason: answer.trim() };
  if (answer === false) return { kind: 'unsupported', reason: 'supports() returned false' };
  return { kind: 'error', message: `supports() returned ${describeKind(answer)}; expected true or a reason string` };
}
