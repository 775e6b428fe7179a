/**
 * Deterministic sharding: with ids sorted, shard I of N (1-based) takes the ids
 * at positions p with p mod N = I - 1. Every id lands in exactly one shard, and
 * the shards differ in size by at most one.
 */
import { ConformanceError } from '../src/errors.js';
import { compareText } from '../src/manifest.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Parse `I/N`; throws E_USAGE with what was expected and found. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (match === null) {
    throw new ConformanceError('E_USAGE', `--shard: expected I/N with integers 1 <= I <= N (e.g. 2/4), found '${text}'`, { shard: text });
  }
  const shard = { index: Number(match[1]), count: Number(match[2]) };
  checkShard(shard, `'${text}'`);
  return shard;
}

/** Check a shard given as numbers (library callers). */
export function checkShard(shard: Shard, found = `${shard.index}/${shard.count}`): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new ConformanceError('E_USAGE', `--shard: expected I/N with integers 1 <= I <= N (e.g. 2/4), found ${found}`, { shard });
  }
}

/** Fixture ids compare by UTF-16 code units (locale-independent, hence deterministic): the corpus order. */
export const compareIds: (a: string, b: string) => number = compareText;

/** The ids of one shard, in sorted order. */
export function selectShard(ids: readonly string[], shard: Shard): string[] {
  const sorted = [...ids].sort(compareIds);
  return sorted.filter((_, position) => position % shard.count === shard.index - 1);
}
