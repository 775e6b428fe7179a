/**
 * Greedy shrinking of a failing fuzz case: try simpler cases one at a time, keep
 * the first that still fails (the adapter is run again on each), and start over
 * from it, until no candidate fails or the run budget is spent.
 *
 * Candidates, in this order (the first ones shrink most):
 *   1. shapes: each of N, C/G, Cout/G, G, H, W, KH, KW set to 1, halved, less 1;
 *   2. parameters: an auto padding mode written as its explicit pads, each stride
 *      and dilation set to 1 or less 1, each pad set to 0 or less 1;
 *   3. dy: chunks of the dy entries kept are removed, halves first, then quarters,
 *      and so on down to single entries (not for onehot-dy and zeros, whose dy is
 *      the point); a removed entry is set to 0.
 * A candidate that is not a convolution, whose family's rule cannot hold, or that
 * the adapter does not support is not a failure and is passed over.
 */
import { isConformanceError } from '../../src/errors.js';
import { shapeSize } from '../../src/geometry.js';
import { caseGeometry, type FuzzCase } from './fuzz-case.js';

/** dy entries are removed one at a time only from lists this short (longer ones in chunks). */
const MAX_SINGLE_REMOVALS = 256;

/** What the shrinker learns of a candidate: does it still fail? */
export type FailurePredicate = (candidate: FuzzCase) => Promise<boolean>;

export interface ShrinkResult {
  minimal: FuzzCase;
  /** Candidates accepted (each a smaller failing case). */
  steps: number;
  /** Candidates tried on the adapter. */
  runs: number;
  /** True when the run budget ended the shrinking before no candidate was left. */
  exhausted: boolean;
}

type Sizes = { batch: number; inPerGroup: number; outPerGroup: number; groups: number; height: number; width: number; kernelHeight: number; kernelWidth: number };

function sizesOf(fuzzCase: FuzzCase): Sizes {
  const [batch, inChannels, height, width] = fuzzCase.x;
  const [outChannels, kernelHeight, kernelWidth] = fuzzCase.filter;
  const { groups } = fuzzCase;
  return { batch, inPerGroup: inChannels / groups, outPerGroup: outChannels / groups, groups, height, width, kernelHeight, kernelWidth };
}

function withSizes(fuzzCase: FuzzCase, sizes: Sizes): FuzzCase {
  return {
    ...fuzzCase,
    x: [sizes.batch, sizes.groups * sizes.inPerGroup, sizes.height, sizes.width],
    filter: [sizes.groups * sizes.outPerGroup, sizes.kernelHeight, sizes.kernelWidth],
    groups: sizes.groups,
    dyKeep: null,
  };
}

/** Smaller values to try for a size or parameter, simplest first, each below `value` and at least `minimum`. */
function smaller(value: number, minimum: number): number[] {
  return [...new Set([minimum, Math.floor(value / 2), value - 1])].filter((candidate) => candidate >= minimum && candidate < value);
}

/** Every simpler case, in the order of the module comment (auto pads re-resolved for new shapes). */
export function* shrinkCandidates(fuzzCase: FuzzCase, resolve: (candidate: FuzzCase) => FuzzCase): Generator<FuzzCase> {
  const sizes = sizesOf(fuzzCase);
  for (const key of Object.keys(sizes) as (keyof Sizes)[]) {
    for (const value of smaller(sizes[key], 1)) yield resolve(withSizes(fuzzCase, { ...sizes, [key]: value }));
  }
  if (fuzzCase.padding !== 'EXPLICIT') yield { ...fuzzCase, padding: 'EXPLICIT' };
  for (const key of ['stride', 'dilation'] as const) {
    for (const axis of [0, 1]) {
      for (const value of smaller(fuzzCase[key][axis], 1)) {
        const pair: [number, number] = [...fuzzCase[key]];
        pair[axis] = value;
        yield resolve({ ...fuzzCase, [key]: pair, dyKeep: null });
      }
    }
  }
  if (fuzzCase.padding === 'EXPLICIT') {
    for (const side of ['top', 'bottom', 'left', 'right'] as const) {
      for (const value of smaller(fuzzCase.pads[side], 0)) yield { ...fuzzCase, pads: { ...fuzzCase.pads, [side]: value }, dyKeep: null };
    }
  }
  if (fuzzCase.family === 'onehot-dy' || fuzzCase.family === 'zeros') return;
  const kept = fuzzCase.dyKeep ?? Array.from({ length: shapeSize(caseGeometry(fuzzCase).dyShape) }, (_, index) => index);
  if (kept.length === 0) return;
  // Remove chunks of the kept entries, halves first, then quarters..., down to single entries
  // (for up to MAX_SINGLE_REMOVALS entries); the later chunks first, so the earliest entries stay.
  for (let parts = 2; parts / 2 < Math.max(2, kept.length) && parts <= 2 * MAX_SINGLE_REMOVALS; parts *= 2) {
    const size = Math.ceil(kept.length / parts);
    for (let start = Math.floor((kept.length - 1) / size) * size; start >= 0; start -= size) {
      yield { ...fuzzCase, dyKeep: kept.filter((_, position) => position < start || position >= start + size) };
    }
  }
}

/** Is the candidate a convolution at all (output at least 1x1, channels divisible)? */
function isConvolution(candidate: FuzzCase): boolean {
  try {
    caseGeometry(candidate);
    return true;
  } catch (error) {
    if (isConformanceError(error, 'E_GEOMETRY')) return false;
    throw error;
  }
}

/**
 * Shrink a failing case. `stillFails` runs the adapter on a candidate (it must
 * return false for a candidate that cannot be built or is not supported);
 * `maxRuns` bounds the adapter calls.
 */
export async function shrinkFuzzCase(failing: FuzzCase, stillFails: FailurePredicate, options: { maxRuns: number; resolve: (candidate: FuzzCase) => FuzzCase }): Promise<ShrinkResult> {
  let current = failing;
  let steps = 0;
  let runs = 0;
  const seen = new Set<string>();
  for (;;) {
    let accepted: FuzzCase | null = null;
    for (const candidate of shrinkCandidates(current, options.resolve)) {
      const key = JSON.stringify(candidate);
      if (seen.has(key) || !isConvolution(candidate)) continue;
      seen.add(key);
      if (runs >= options.maxRuns) return { minimal: current, steps, runs, exhausted: true };
      runs++;
      if (await stillFails(candidate)) {
        accepted = candidate;
        break;
      }
    }
    if (accepted === null) return { minimal: current, steps, runs, exhausted: false };
    current = accepted;
    steps++;
  }
}
