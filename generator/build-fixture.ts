/**
 * Build one fixture from its plan: draw the data, compute the expected values
 * with the float64 oracle, prove what the tolerance rule needs, and have every
 * witness agree before anything is written.
 */
import { performance } from 'node:perf_hooks';
import { compareOutput } from '../src/compare.js';
import { DTYPE_INFO, fromFloat64Array } from '../src/dtype.js';
import { ConformanceError } from '../src/errors.js';
import { derivedFixtureFields, type FixtureTensors } from '../src/fixture-io.js';
import { accumulationLengths } from '../src/geometry.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../src/oracle/index.js';
import { Prng } from '../src/prng.js';
import { FORMAT_VERSION } from '../src/schemas/fixture-schema.js';
import { gamma } from '../src/tolerance.js';
import type { Conv2dGradients, Dtype, FixtureMeta, Float64Tensor, OutputName, Tensor } from '../src/types.js';
import { OUTPUT_NAMES } from '../src/types.js';
import { DATA_FAMILY_DEFINITIONS, EXACT_ATTEMPTS, exactnessHolds, type FamilyData } from './data-families.js';
import type { FixturePlan } from './fixture-plan.js';
import type { Backend } from '../backends/backend.js';

/** Stable names recorded in fixture.json; the exact backend and version go to the witness report. */
export const WITNESS_BACKENDS = ['onnxruntime', 'tensorflow.js'] as const;

/** The stable backend a witness belongs to ('tfjs-cpu' and 'tfjs-node' are both TensorFlow.js). */
export function witnessBackend(witnessName: string): string {
  if (witnessName.startsWith('onnxruntime')) return 'onnxruntime';
  if (witnessName.startsWith('tfjs')) return 'tensorflow.js';
  return witnessName;
}

export interface WitnessRecord {
  witness: string;
  version: string;
  computeDtype: Dtype;
  rule: 'exact' | 'bound';
  maxErrorInBounds: Record<OutputName, number>;
}

export interface BuiltFixture {
  meta: Omit<FixtureMeta, 'files'>;
  tensors: FixtureTensors;
  witnessRecords: WitnessRecord[];
}

/** Running totals buildFixture adds its timings into (performance.now(); never written into the corpus). */
export interface FixtureTimings {
  /** Drawing the data and computing the expected values and magnitudes (float64 oracle). */
  oracleSeconds: number;
  /** Per witness name (e.g. 'onnxruntime-node', 'tfjs-cpu'): time inside witness.compute(). */
  witnessSeconds: Record<string, number>;
  /** Comparing each witness's results with the oracle's (compareOutput). */
  agreementSeconds: number;
}

function float64Tensor(shape: number[], data: Float64Array): Float64Tensor {
  return { dtype: 'float64', shape: [...shape], data };
}

function maxFinite(values: Float64Array): number {
  let largest = 0;
  for (const value of values) if (Number.isFinite(value) && value > largest) largest = value;
  return largest;
}

/**
 * Check what the family's rule needs, returning a reason when it does not hold.
 * exact: every partial sum representable (integers, max M <= 2^p; or one product per element);
 * bound: k*u < 1 so the bound is finite, and no partial sum can overflow the dtype.
 */
function ruleProblem(plan: FixturePlan, data: FamilyData, magnitude: Conv2dGradients, lengths: Record<OutputName, number>): string | null {
  const info = DTYPE_INFO[plan.dtype];
  const largestMagnitude = Math.max(...OUTPUT_NAMES.map((name) => maxFinite(magnitude[name].data)));
  if (plan.family === 'exact') {
    return exactnessHolds(largestMagnitude, plan.dtype) ? null : `max magnitude ${largestMagnitude} exceeds 2^${-Math.log2(info.unitRoundoff)}`;
  }
  if (plan.family === 'onehot-dy') {
    const nonZero = data.dy.filter((value) => value !== 0);
    return nonZero.length === 1 && nonZero[0] === 1 ? null : 'dy is not one-hot';
  }
  if (plan.family === 'zeros') return data.dy.every((value) => value === 0) ? null : 'dy is not all zero';
  for (const name of OUTPUT_NAMES) {
    if (!Number.isFinite(gamma(lengths[name], info.unitRoundoff))) return `${name}: accumulation length ${lengths[name]} is too long for ${plan.dtype}`;
  }
  if (largestMagnitude * 2 >= info.maxFinite) return `max magnitude ${largestMagnitude} could overflow ${plan.dtype}`;
  return null;
}

/** Draw data and compute expected values; for `exact`, retry with smaller values until the proof holds. */
function drawAndCompute(plan: FixturePlan) {
  const definition = DATA_FAMILY_DEFINITIONS[plan.family];
  const prng = new Prng(plan.seed);
  const lengths = accumulationLengths(plan.geometry);
  const attempts = plan.family === 'exact' ? EXACT_ATTEMPTS : 1;
  let lastProblem = '';
  for (let attempt = 0; attempt < attempts; attempt++) {
    const data = definition.draw({ prng, geometry: plan.geometry, dtype: plan.dtype, variant: plan.variant, attempt });
    const x = float64Tensor(plan.geometry.xShape, data.x);
    const w = float64Tensor(plan.geometry.wShape, data.w);
    const dy = float64Tensor(plan.geometry.dyShape, data.dy);
    const expected = conv2dBackward(x, w, dy, plan.params);
    const magnitude = conv2dBackwardMagnitude(x, w, dy, plan.params);
    const problem = ruleProblem(plan, data, magnitude, lengths);
    if (problem === null) return { data, expected, magnitude, lengths };
    lastProblem = problem;
  }
  throw new ConformanceError('E_GENERATOR', `fixture ${plan.id}: the ${plan.family} family's rule cannot hold: ${lastProblem}`, { id: plan.id });
}

/**
 * Build one fixture. `timings`, when given, receives each timing as soon as it is
 * measured (the generator's running totals), so they survive a witness that then disagrees.
 */
export async function buildFixture(plan: FixturePlan, witnesses: readonly Backend[], timings?: FixtureTimings): Promise<BuiltFixture> {
  const definition = DATA_FAMILY_DEFINITIONS[plan.family];
  const oracleStart = performance.now();
  const { data, expected, magnitude, lengths } = drawAndCompute(plan);
  if (timings !== undefined) timings.oracleSeconds += (performance.now() - oracleStart) / 1000;

  const inputs: Record<'x' | 'w' | 'dy', Tensor> = {
    x: { dtype: plan.dtype, shape: plan.geometry.xShape, data: fromFloat64Array(data.x, plan.dtype) },
    w: { dtype: plan.dtype, shape: plan.geometry.wShape, data: fromFloat64Array(data.w, plan.dtype) },
    dy: { dtype: plan.dtype, shape: plan.geometry.dyShape, data: fromFloat64Array(data.dy, plan.dtype) },
  };
  const largestMagnitude = Math.max(...OUTPUT_NAMES.map((name) => maxFinite(magnitude[name].data)));

  const witnessRecords: WitnessRecord[] = [];
  for (const witness of witnesses) {
    const start = performance.now();
    const result = await witness.compute({ ...inputs, params: plan.params });
    if (timings !== undefined) timings.witnessSeconds[witness.name] = (timings.witnessSeconds[witness.name] ?? 0) + (performance.now() - start) / 1000;
    // Exactness carries over to the witness's precision only when the proof holds there too.
    const rule = definition.rule === 'exact' && (plan.family !== 'exact' || exactnessHolds(largestMagnitude, result.computeDtype)) ? 'exact' : 'bound';
    const maxErrorInBounds = {} as Record<OutputName, number>;
    for (const output of OUTPUT_NAMES) {
      const compareStart = performance.now();
      const metrics = compareOutput({
        output,
        shape: expected[output].shape,
        dtype: result.computeDtype,
        rule,
        accumulationLength: lengths[output],
        expected: expected[output].data,
        magnitude: magnitude[output].data,
        got: result[output],
      });
      if (timings !== undefined) timings.agreementSeconds += (performance.now() - compareStart) / 1000;
      if (metrics.failingElements > 0) {
        const worst = metrics.worst;
        const where = worst ? `[${worst.index.join(', ')}]: expected ${worst.expected}, got ${worst.got}, bound ${worst.bound}` : '';
        throw new ConformanceError(
          'E_WITNESS_DISAGREES',
          `fixture ${plan.id}: witness ${witness.name} ${witness.version} (${result.computeDtype}, rule ${rule}) contradicts the oracle on ${output} ` +
            `${where} (${metrics.failingElements} of ${metrics.elements} elements out of bound, max ${metrics.maxErrorInBounds.toPrecision(3)} bounds)`,
          { id: plan.id, witness: witness.name, output, worst },
        );
      }
      maxErrorInBounds[output] = metrics.maxErrorInBounds;
    }
    witnessRecords.push({ witness: witness.name, version: witness.version, computeDtype: result.computeDtype, rule, maxErrorInBounds });
  }

  const variantText = plan.variant ? ` (variant ${plan.variant})` : '';
  const meta: Omit<FixtureMeta, 'files'> = {
    id: plan.id,
    formatVersion: FORMAT_VERSION,
    op: 'conv2d_backward',
    description: `${plan.spec.description}. Data: ${definition.description}${variantText}.`,
    case: plan.spec.name,
    dtype: plan.dtype,
    family: plan.family,
    seed: plan.seed,
    tags: plan.tags,
    params: plan.params,
    padding: { mode: plan.paddingMode },
    ...derivedFixtureFields(plan.geometry, plan.dtype, definition.rule),
    witnesses: { agreed: true, backends: [...new Set(witnesses.map((witness) => witnessBackend(witness.name)))].sort() },
  };
  const tensors: FixtureTensors = {
    ...inputs,
    dx: expected.dx,
    dw: expected.dw,
    db: expected.db,
    'dx-magnitude': magnitude.dx,
    'dw-magnitude': magnitude.dw,
    'db-magnitude': magnitude.db,
  };
  return { meta, tensors, witnessRecords };
}
