/**
 * Gradient checks of an implementation's backward against its own forward: the seed
 * article's method 3 (adjoint identities, "agreement with an automatic derivative of the
 * forward") and method 1 (central finite differences of the forward). Neither needs an
 * expected value: they catch a backward that is inconsistent with the forward it came with,
 * even when that forward is not the plain convolution of the corpus.
 *
 * With y = f(x, w, b) = conv(x, w) + b (b broadcast over n, h, w), and dx, dw, db the
 * backward of the loss L = <y, dy>, exact arithmetic gives, since conv is bilinear:
 *
 *   (x)  <y, dy> = <x, dx> + <b, db>
 *   (w)  <y, dy> = <w, dw> + <b, db>
 *
 * and, for one element x_j and any step, the central difference is exact:
 *
 *   (L(x + s e_j) - L(x - s e_j)) / (2 s) = dx_j        (likewise for w_j and dw_j)
 *
 * The bound of each check assumes only that every output the implementation gives is
 * within its elementwise proven bound B (src/precision-class.ts, the direct algorithm in
 * the declared fpmath, with the magnitude M in place of |exact| since |exact| <= M):
 *
 *   |<ŷ,dy> - <x,d̂x> - <b,d̂b>| <= sum |dy| B_y + sum |x| B_dx + sum |b| B_db + E64
 *
 * where E64 = gamma_(n+2)(2^-53) * (the sums of |terms| of the three float64 dot products)
 * covers their evaluation here. For a finite difference with the steps x± rounded to the
 * dtype (the quotient uses the step actually taken, x+ - x-, exact in float64):
 *
 *   |(L̂+ - L̂-) / (x+ - x-) - d̂x_j| <= (sum |dy| (B_y+ + B_y-) + E64) / (x+ - x-) + B_dx_j
 *
 * So a correct pair never fails. Checks are not made (status 'skipped', with the reason)
 * when a value is not finite, or when a bound is infinite (gamma_k(u) with k*u >= 1).
 */
import { conv2dGeometry, accumulationLengths } from './geometry.js';
import { roundToDtype } from './dtype.js';
import { conv2dBackwardMagnitude } from './oracle/conv2d-backward.js';
import { conv2dForward } from './oracle/conv2d-forward.js';
import { classCoefficients, classElementBound, type Fpmath } from './precision-class.js';
import { gamma } from './tolerance.js';
import type { Conv2dParams, Dtype, Float64Tensor } from './types.js';

const FLOAT64_UNIT_ROUNDOFF = 2 ** -53;

/** The tensors of one check, each converted exactly to float64 from the implementation's dtype. */
export interface GradcheckTensors {
  x: Float64Tensor;
  w: Float64Tensor;
  /** The bias given to the forward (zeros when the request has none). */
  b: Float64Tensor;
  dy: Float64Tensor;
  /** The implementation's forward output for (x, w, b). */
  y: Float64Tensor;
  /** The implementation's backward outputs for (x, w, dy). */
  dx: Float64Tensor;
  dw: Float64Tensor;
  db: Float64Tensor;
}

export interface GradcheckContext {
  dtype: Dtype;
  fpmath: Fpmath;
  params: Conv2dParams;
}

export type GradcheckName = 'adjoint-x' | 'adjoint-w' | `difference-x[${number}]` | `difference-w[${number}]`;

/** One identity checked: the two sides, their difference and its proven bound. */
export type GradcheckOutcome =
  | { name: GradcheckName; status: 'pass' | 'fail'; left: number; right: number; difference: number; bound: number }
  | { name: GradcheckName; status: 'skipped'; reason: string };

/** sum_i a_i * b_i in float64, with the sum of |a_i * b_i| for its error bound. */
function dot(a: Float64Array, b: Float64Array): { value: number; absolute: number } {
  let value = 0;
  let absolute = 0;
  for (let index = 0; index < a.length; index++) {
    const product = a[index] * b[index];
    value += product;
    absolute += Math.abs(product);
  }
  return { value, absolute };
}

function absolute(tensor: Float64Tensor): Float64Tensor {
  return { dtype: 'float64', shape: tensor.shape, data: tensor.data.map(Math.abs) };
}

function allFinite(...tensors: Float64Tensor[]): boolean {
  return tensors.every((tensor) => tensor.data.every(Number.isFinite));
}

/** The elementwise bounds of an output with magnitudes M summing `length` terms: B = bound(M, M). */
function elementBounds(magnitude: Float64Array, length: number, context: GradcheckContext): Float64Array {
  const coefficients = classCoefficients(length, length, context.dtype, context.fpmath);
  return magnitude.map((value) => classElementBound(coefficients, value, value, value));
}

/** B_y for the forward at (x, w, b): M_y = conv(|x|, |w|) + |b|, Cin/groups*KH*KW products plus the bias. */
function forwardBounds(x: Float64Tensor, w: Float64Tensor, b: Float64Tensor, context: GradcheckContext): Float64Array {
  const geometry = conv2dGeometry(x.shape, w.shape, context.params);
  const magnitude = conv2dForward(absolute(x), absolute(w), absolute(b), context.params);
  const length = geometry.inChannelsPerGroup * geometry.kernelHeight * geometry.kernelWidth + 1;
  return elementBounds(magnitude.data, length, context);
}

/** sum_i |a_i| * bound_i. */
function weighted(a: Float64Array, bounds: Float64Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += Math.abs(a[index]) * bounds[index];
  return sum;
}

function judged(name: GradcheckName, left: number, right: number, bound: number): GradcheckOutcome {
  if (!Number.isFinite(bound)) return { name, status: 'skipped', reason: 'no finite bound at this accumulation length in this dtype' };
  const difference = Math.abs(left - right);
  // |left - right| is itself rounded once in float64, and so is the sum that made the bound.
  const allowed = bound * (1 + 4 * FLOAT64_UNIT_ROUNDOFF);
  return { name, status: difference <= allowed ? 'pass' : 'fail', left, right, difference, bound: allowed };
}

/** The adjoint identities (x) and (w), with their proven bounds. */
export function adjointChecks(tensors: GradcheckTensors, context: GradcheckContext): GradcheckOutcome[] {
  const { x, w, b, dy, y, dx, dw, db } = tensors;
  if (!allFinite(x, w, b, dy, y, dx, dw, db)) {
    const reason = 'a value is not finite: the identities hold only for finite sums';
    return [{ name: 'adjoint-x', status: 'skipped', reason }, { name: 'adjoint-w', status: 'skipped', reason }];
  }
  const geometry = conv2dGeometry(x.shape, w.shape, context.params);
  const lengths = accumulationLengths(geometry);
  const magnitudes = conv2dBackwardMagnitude(x, w, dy, context.params);
  const boundY = forwardBounds(x, w, b, context);
  const boundDb = elementBounds(magnitudes.db.data, lengths.db, context);
  const loss = dot(y.data, dy.data);
  const bias = dot(b.data, db.data);
  const yTerm = weighted(dy.data, boundY);
  const biasTerm = weighted(b.data, boundDb);

  const sides: { name: 'adjoint-x' | 'adjoint-w'; input: Float64Tensor; gradient: Float64Tensor; bounds: Float64Array }[] = [
    { name: 'adjoint-x', input: x, gradient: dx, bounds: elementBounds(magnitudes.dx.data, lengths.dx, context) },
    { name: 'adjoint-w', input: w, gradient: dw, bounds: elementBounds(magnitudes.dw.data, lengths.dw, context) },
  ];
  return sides.map(({ name, input, gradient, bounds }) => {
    const inner = dot(input.data, gradient.data);
    const terms = y.data.length + input.data.length + b.data.length;
    const evaluation = gamma(terms + 2, FLOAT64_UNIT_ROUNDOFF) * (loss.absolute + inner.absolute + bias.absolute);
    const bound = yTerm + weighted(input.data, bounds) + biasTerm + evaluation;
    return judged(name, loss.value, inner.value + bias.value, bound);
  });
}

/** The implementation's forward, called on perturbed inputs (values exact in float64, representable in the dtype). */
export type ForwardCall = (x: Float64Tensor, w: Float64Tensor, b: Float64Tensor) => Promise<Float64Tensor>;

/**
 * The step for a central difference at `value`: the largest |v| of the tensor (or 1),
 * rounded down to a power of two, so that the step is large against the forward's rounding
 * and the perturbed values stay in the dtype's range. The caller rounds value ± step.
 */
export function differenceStep(tensor: Float64Tensor): number {
  let largest = 0;
  for (const value of tensor.data) largest = Math.max(largest, Math.abs(value));
  return 2 ** Math.floor(Math.log2(largest > 0 ? largest : 1));
}

/**
 * Central finite differences of L = <f(x, w, b), dy> at the given flat indices of x and
 * of w, against the implementation's dx and dw there.
 */
export async function differenceChecks(
  tensors: GradcheckTensors,
  context: GradcheckContext,
  forward: ForwardCall,
  indices: { x: readonly number[]; w: readonly number[] },
): Promise<GradcheckOutcome[]> {
  const { x, w, b, dy, dx, dw } = tensors;
  const outcomes: GradcheckOutcome[] = [];
  const finite = allFinite(x, w, b, dy, dx, dw);
  const geometry = conv2dGeometry(x.shape, w.shape, context.params);
  const lengths = accumulationLengths(geometry);
  const magnitudes = finite ? conv2dBackwardMagnitude(x, w, dy, context.params) : null;
  for (const operand of ['x', 'w'] as const) {
    const base = operand === 'x' ? x : w;
    const gradient = operand === 'x' ? dx : dw;
    const step = differenceStep(base);
    for (const index of indices[operand]) {
      const name: GradcheckName = `difference-${operand}[${index}]`;
      if (magnitudes === null) {
        outcomes.push({ name, status: 'skipped', reason: 'a value is not finite: a difference quotient of infinities has no value' });
        continue;
      }
      const perturbed = (sign: 1 | -1): Float64Tensor => {
        const data = Float64Array.from(base.data);
        data[index] = roundToDtype(base.data[index] + sign * step, context.dtype);
        return { dtype: 'float64', shape: base.shape, data };
      };
      const plus = perturbed(1);
      const minus = perturbed(-1);
      const taken = plus.data[index] - minus.data[index];
      const [yPlus, yMinus] = operand === 'x'
        ? [await forward(plus, w, b), await forward(minus, w, b)]
        : [await forward(x, plus, b), await forward(x, minus, b)];
      if (!allFinite(yPlus, yMinus) || taken <= 0) {
        outcomes.push({ name, status: 'skipped', reason: 'the perturbed forward is not finite' });
        continue;
      }
      const lossPlus = dot(yPlus.data, dy.data);
      const lossMinus = dot(yMinus.data, dy.data);
      const boundsPlus = operand === 'x' ? forwardBounds(plus, w, b, context) : forwardBounds(x, plus, b, context);
      const boundsMinus = operand === 'x' ? forwardBounds(minus, w, b, context) : forwardBounds(x, minus, b, context);
      const evaluation = gamma(dy.data.length + 1, FLOAT64_UNIT_ROUNDOFF) * (lossPlus.absolute + lossMinus.absolute);
      const gradientBound = elementBounds(magnitudes[operand === 'x' ? 'dx' : 'dw'].data.subarray(index, index + 1), lengths[operand === 'x' ? 'dx' : 'dw'], context)[0];
      const quotient = (lossPlus.value - lossMinus.value) / taken;
      // The subtraction and the division round once each in float64: gamma_2(2^-53) * |quotient|.
      const bound = (weighted(dy.data, boundsPlus) + weighted(dy.data, boundsMinus) + evaluation) / taken + gradientBound + gamma(2, FLOAT64_UNIT_ROUNDOFF) * Math.abs(quotient);
      outcomes.push(judged(name, quotient, gradient.data[index], bound));
    }
  }
  return outcomes;
}
