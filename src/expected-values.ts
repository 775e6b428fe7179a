/**
 * The expected side of a fixture, the same for the corpus generator and the
 * runner's fuzzing: draw the data of a data family, compute the expected
 * gradients and their magnitudes with the float64 oracle, and check what the
 * family's tolerance rule needs (exactness proof, finite bound, no overflow).
 */
import { DATA_FAMILY_DEFINITIONS, EXACT_ATTEMPTS, exactnessHolds, type FamilyData } from './data-families.js';
import { DTYPE_INFO, fromFloat64Array, roundToDtype } from './dtype.js';
import { ConformanceError } from './errors.js';
import { forwardExpectation } from './forward-expected.js';
import { accumulationLengths, type Conv2dGeometry } from './geometry.js';
import { conv2dBackward, conv2dBackwardMagnitude } from './oracle/index.js';
import { Prng } from './prng.js';
import { gamma } from './tolerance.js';
import type { FixtureTensors } from './fixture-io.js';
import type { Conv2dGradients, Conv2dParams, DataFamily, Dtype, Float64Tensor, ForwardExpectation, OutputName, Tensor } from './types.js';
import { OUTPUT_NAMES } from './types.js';

/** What drawing a fixture's data needs (the generator's FixturePlan has these fields and more). */
export interface DataPlan {
  id: string;
  family: DataFamily;
  variant: string;
  dtype: Dtype;
  seed: number;
  params: Conv2dParams;
  geometry: Conv2dGeometry;
}

/** The drawn inputs, the oracle's gradients and magnitudes, each output's accumulation length, and the forward y. */
export interface ExpectedValues {
  data: FamilyData;
  expected: Conv2dGradients;
  magnitude: Conv2dGradients;
  lengths: Record<OutputName, number>;
  /** y = conv(x, w) of the same x and w, with its magnitude and its own rule (src/forward-expected.ts). */
  forward: ForwardExpectation;
}

/** A change to the drawn data before anything is computed (fuzzing zeroes dy entries with it). */
export type DataEdit = (data: FamilyData) => void;

function float64Tensor(shape: number[], data: Float64Array): Float64Tensor {
  return { dtype: 'float64', shape: [...shape], data };
}

/** The largest finite value of an array (0 when there is none above 0). */
export function maxFinite(values: Float64Array): number {
  let largest = 0;
  for (const value of values) if (Number.isFinite(value) && value > largest) largest = value;
  return largest;
}

/** The largest finite magnitude over the three outputs. */
export function largestMagnitude(magnitude: Conv2dGradients): number {
  return Math.max(...OUTPUT_NAMES.map((name) => maxFinite(magnitude[name].data)));
}

/** Why the bound is not finite for these lengths in this dtype (k*u >= 1), or null. */
export function boundLengthProblem(lengths: Record<OutputName, number>, dtype: Dtype): string | null {
  for (const name of OUTPUT_NAMES) {
    if (!Number.isFinite(gamma(lengths[name], DTYPE_INFO[dtype].unitRoundoff))) return `${name}: accumulation length ${lengths[name]} is too long for ${dtype}`;
  }
  return null;
}

/**
 * Check what the family's rule needs, returning a reason when it does not hold.
 * exact: every partial sum representable (integers, max M <= 2^p; or one product per element);
 * bound: k*u < 1 so the bound is finite, and no partial sum can overflow the dtype.
 */
export function ruleProblem(plan: Pick<DataPlan, 'dtype' | 'family'>, data: FamilyData, magnitude: Conv2dGradients, lengths: Record<OutputName, number>): string | null {
  const info = DTYPE_INFO[plan.dtype];
  const largest = largestMagnitude(magnitude);
  if (plan.family === 'exact') {
    return exactnessHolds(largest, plan.dtype) ? null : `max magnitude ${largest} exceeds 2^${-Math.log2(info.unitRoundoff)}`;
  }
  if (plan.family === 'onehot-dy') {
    const nonZero = data.dy.filter((value) => value !== 0);
    return nonZero.length === 1 && nonZero[0] === 1 ? null : 'dy is not one-hot';
  }
  if (plan.family === 'zeros') return data.dy.every((value) => value === 0) ? null : 'dy is not all zero';
  const lengthProblem = boundLengthProblem(lengths, plan.dtype);
  if (lengthProblem !== null) return lengthProblem;
  if (largest * 2 >= info.maxFinite) return `max magnitude ${largest} could overflow ${plan.dtype}`;
  return null;
}

/** Round every drawn value to the dtype: the identity for data a family already drew storable. */
function roundData(data: FamilyData, dtype: Dtype): void {
  for (const values of [data.x, data.w, data.dy]) {
    for (let index = 0; index < values.length; index++) values[index] = roundToDtype(values[index], dtype);
  }
}

/**
 * Draw data and compute expected values (the gradients and the forward y); for `exact`, retry with smaller values until the
 * proof holds. Returns the rule's last problem when it cannot hold (fuzzing then tries
 * another case); `edit` changes the drawn data before anything is computed.
 */
export function drawAndCompute(plan: DataPlan, edit?: DataEdit): ExpectedValues | { problem: string } {
  const definition = DATA_FAMILY_DEFINITIONS[plan.family];
  const prng = new Prng(plan.seed);
  const lengths = accumulationLengths(plan.geometry);
  const attempts = plan.family === 'exact' ? EXACT_ATTEMPTS : 1;
  let lastProblem = '';
  for (let attempt = 0; attempt < attempts; attempt++) {
    const data = definition.draw({ prng, geometry: plan.geometry, dtype: plan.dtype, variant: plan.variant, attempt });
    roundData(data, plan.dtype);
    edit?.(data);
    const x = float64Tensor(plan.geometry.xShape, data.x);
    const w = float64Tensor(plan.geometry.wShape, data.w);
    const dy = float64Tensor(plan.geometry.dyShape, data.dy);
    const expected = conv2dBackward(x, w, dy, plan.params);
    const magnitude = conv2dBackwardMagnitude(x, w, dy, plan.params);
    const problem = ruleProblem(plan, data, magnitude, lengths);
    if (problem === null) return { data, expected, magnitude, lengths, forward: forwardExpectation(x, w, plan.params, plan.dtype) };
    lastProblem = problem;
  }
  return { problem: lastProblem };
}

/** drawAndCompute for the generator: a rule that cannot hold is an E_GENERATOR error naming the fixture. */
export function expectedValues(plan: DataPlan): ExpectedValues {
  const computed = drawAndCompute(plan);
  if ('problem' in computed) {
    throw new ConformanceError('E_GENERATOR', `fixture ${plan.id}: the ${plan.family} family's rule cannot hold: ${computed.problem}`, { id: plan.id });
  }
  return computed;
}

/** The inputs x, w, dy as tensors of the fixture's dtype (the drawn values are representable in it). */
export function inputTensors(data: FamilyData, dtype: Dtype, geometry: Conv2dGeometry): Record<'x' | 'w' | 'dy', Tensor> {
  return {
    x: { dtype, shape: [...geometry.xShape], data: fromFloat64Array(data.x, dtype) },
    w: { dtype, shape: [...geometry.wShape], data: fromFloat64Array(data.w, dtype) },
    dy: { dtype, shape: [...geometry.dyShape], data: fromFloat64Array(data.dy, dtype) },
  };
}

/** A fixture's nine tensors: the inputs, the float64 expected gradients and their magnitudes. */
export function fixtureTensors(inputs: Record<'x' | 'w' | 'dy', Tensor>, values: Pick<ExpectedValues, 'expected' | 'magnitude'>): FixtureTensors {
  const { expected, magnitude } = values;
  return {
    ...inputs,
    dx: expected.dx,
    dw: expected.dw,
    db: expected.db,
    'dx-magnitude': magnitude.dx,
    'dw-magnitude': magnitude.dw,
    'db-magnitude': magnitude.db,
  };
}
