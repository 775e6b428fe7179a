/**
 * The expected forward output of a fixture or fuzz case, from its own x and w:
 *
 *   y = conv(x, w)               (no bias; float64 oracle, src/oracle/conv2d-forward.ts)
 *   yMagnitude = conv(|x|, |w|)  (per element, the sum of |products| that form it)
 *   accumulationLength = (C/groups) * KH * KW
 *
 * and the rule y is judged by, proven for y's own partial sums (not taken from the
 * gradients' rule): 'exact' when every x and w is an integer and max(yMagnitude) <= 2^p
 * for the dtype's p-bit significand (exactnessHolds, the proof the gradients use), so
 * that every partial sum, in any order, is an integer of at most 2^p; else 'bound'.
 */
import { exactnessHolds } from './data-families.js';
import { DTYPE_INFO } from './dtype.js';
import { conv2dGeometry, forwardAccumulationLength } from './geometry.js';
import { conv2dForward } from './oracle/index.js';
import { gamma } from './tolerance.js';
import type { Conv2dParams, Dtype, Float64Tensor, ForwardExpectation } from './types.js';

function absolute(tensor: Float64Tensor): Float64Tensor {
  return { dtype: 'float64', shape: [...tensor.shape], data: tensor.data.map(Math.abs) };
}

function allIntegers(values: Float64Array): boolean {
  for (const value of values) if (!Number.isInteger(value)) return false;
  return true;
}

/** The largest element of a magnitude array (NaN or Infinity when one is). */
function largest(values: Float64Array): number {
  let result = 0;
  for (const value of values) if (!(value <= result)) result = value;
  return result;
}

/**
 * The rule y is judged by: 'exact' when x and w hold only integers (so every product
 * and partial sum is an integer) and max(yMagnitude) <= 2^p in `dtype` (exactnessHolds);
 * otherwise 'bound'.
 */
export function forwardRule(x: Float64Array, w: Float64Array, yMagnitude: Float64Array, dtype: Dtype): ForwardExpectation['rule'] {
  return allIntegers(x) && allIntegers(w) && exactnessHolds(largest(yMagnitude), dtype) ? 'exact' : 'bound';
}

/**
 * The ForwardExpectation of inputs x, w (float64, values representable in `dtype`)
 * under `params`, judged in `dtype`.
 */
export function forwardExpectation(x: Float64Tensor, w: Float64Tensor, params: Conv2dParams, dtype: Dtype): ForwardExpectation {
  const geometry = conv2dGeometry(x.shape, w.shape, params);
  const y = conv2dForward(x, w, undefined, params);
  const yMagnitude = conv2dForward(absolute(x), absolute(w), undefined, params);
  return { y, yMagnitude, rule: forwardRule(x.data, w.data, yMagnitude.data, dtype), accumulationLength: forwardAccumulationLength(geometry) };
}

/**
 * Why y cannot be given a finite bound in `dtype`, or null: an accumulation too long
 * (k*u >= 1), or a magnitude that could overflow the dtype. An 'exact' y has neither.
 */
export function forwardBoundProblem(forward: ForwardExpectation, dtype: Dtype): string | null {
  if (forward.rule === 'exact') return null;
  const info = DTYPE_INFO[dtype];
  if (!Number.isFinite(gamma(forward.accumulationLength, info.unitRoundoff))) return `y: accumulation length ${forward.accumulationLength} is too long for ${dtype}`;
  let largestFinite = 0;
  for (const value of forward.yMagnitude.data) if (Number.isFinite(value) && value > largestFinite) largestFinite = value;
  if (largestFinite * 2 >= info.maxFinite) return `y: max magnitude ${largestFinite} could overflow ${dtype}`;
  return null;
}
