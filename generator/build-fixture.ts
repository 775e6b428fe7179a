/**
 * Build one fixture from its plan: draw the data, compute the expected values
 * with the float64 oracle, prove what the tolerance rule needs, and have every
 * witness agree before anything is written.
 */
import { performance } from 'node:perf_hooks';
import { compareOutput } from '../src/compare.js';
import { ConformanceError } from '../src/errors.js';
import { derivedFixtureFields, type FixtureTensors } from '../src/fixture-io.js';
import { DATA_FAMILY_DEFINITIONS, exactnessHolds } from '../src/data-families.js';
import { expectedValues, fixtureTensors, inputTensors, largestMagnitude } from '../src/expected-values.js';
import { forwardBoundProblem, forwardRule } from '../src/forward-expected.js';
import { FORMAT_VERSION } from '../src/schemas/fixture-schema.js';
import type { Dtype, FixtureMeta, ForwardExpectation, ForwardMeta, OutputName } from '../src/types.js';
import { OUTPUT_NAMES } from '../src/types.js';
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
  /** The witness's forward against y, when it has a forward and y a finite bound in the precision it computed in. */
  y?: { computeDtype: Dtype; rule: 'exact' | 'bound'; maxErrorInBounds: number };
}

export interface BuiltFixture {
  meta: Omit<FixtureMeta, 'files'>;
  tensors: FixtureTensors;
  /** The expected forward output, and the stable backends whose forward agreed with it (forward.json's witnesses). */
  forward: ForwardExpectation;
  forwardWitnesses: ForwardMeta['witnesses'];
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

/**
 * Build one fixture. `timings`, when given, receives each timing as soon as it is
 * measured (the generator's running totals), so they survive a witness that then disagrees.
 */
export async function buildFixture(plan: FixturePlan, witnesses: readonly Backend[], timings?: FixtureTimings): Promise<BuiltFixture> {
  const definition = DATA_FAMILY_DEFINITIONS[plan.family];
  const oracleStart = performance.now();
  const { data, expected, magnitude, lengths, forward } = expectedValues(plan);
  const yProblem = forwardBoundProblem(forward, plan.dtype);
  if (yProblem !== null) throw new ConformanceError('E_GENERATOR', `fixture ${plan.id}: y has no finite bound in ${plan.dtype}: ${yProblem}`, { id: plan.id });
  if (timings !== undefined) timings.oracleSeconds += (performance.now() - oracleStart) / 1000;

  const inputs = inputTensors(data, plan.dtype, plan.geometry);
  const largest = largestMagnitude(magnitude);

  const witnessRecords: WitnessRecord[] = [];
  for (const witness of witnesses) {
    const start = performance.now();
    const result = await witness.compute({ ...inputs, params: plan.params });
    if (timings !== undefined) timings.witnessSeconds[witness.name] = (timings.witnessSeconds[witness.name] ?? 0) + (performance.now() - start) / 1000;
    // Exactness carries over to the witness's precision only when the proof holds there too.
    const rule = definition.rule === 'exact' && (plan.family !== 'exact' || exactnessHolds(largest, result.computeDtype)) ? 'exact' : 'bound';
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
    const record: WitnessRecord = { witness: witness.name, version: witness.version, computeDtype: result.computeDtype, rule, maxErrorInBounds };
    if (witness.forward !== undefined) {
      const yStart = performance.now();
      const computed = await witness.forward({ x: inputs.x, w: inputs.w, params: plan.params });
      if (timings !== undefined) timings.witnessSeconds[witness.name] = (timings.witnessSeconds[witness.name] ?? 0) + (performance.now() - yStart) / 1000;
      const yRecord = witnessForward(plan.id, witness, forward, data, computed);
      if (yRecord !== null) record.y = yRecord;
    }
    witnessRecords.push(record);
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
  const tensors = fixtureTensors(inputs, { expected, magnitude });
  const yWitnesses = witnessRecords.filter((record) => record.y !== undefined).map((record) => witnessBackend(record.witness));
  const forwardWitnesses = { agreed: yWitnesses.length > 0, backends: [...new Set(yWitnesses)].sort() };
  return { meta, tensors, forward, forwardWitnesses, witnessRecords };
}

/**
 * Compare a witness's forward with the oracle's y, under y's rule proven again for the
 * precision the witness computed in (forwardRule) and that precision's bound. Returns the
 * record, or null when y has no finite bound in that precision (nothing to agree on; the
 * witness is then not listed in forward.json). A disagreement is E_WITNESS_DISAGREES.
 */
function witnessForward(
  id: string,
  witness: Backend,
  forward: ForwardExpectation,
  data: { x: Float64Array; w: Float64Array },
  computed: { y: Float64Array; computeDtype: Dtype },
): WitnessRecord['y'] | null {
  const rule = forwardRule(data.x, data.w, forward.yMagnitude.data, computed.computeDtype);
  if (rule === 'bound' && forwardBoundProblem({ ...forward, rule }, computed.computeDtype) !== null) return null;
  const metrics = compareOutput({
    output: 'y',
    shape: forward.y.shape,
    dtype: computed.computeDtype,
    rule,
    accumulationLength: forward.accumulationLength,
    expected: forward.y.data,
    magnitude: forward.yMagnitude.data,
    got: computed.y,
  });
  if (metrics.failingElements > 0) {
    const worst = metrics.worst;
    const where = worst ? `[${worst.index.join(', ')}]: expected ${worst.expected}, got ${worst.got}, bound ${worst.bound}` : '';
    throw new ConformanceError(
      'E_WITNESS_DISAGREES',
      `fixture ${id}: witness ${witness.name} ${witness.version} (${computed.computeDtype}, rule ${rule}) contradicts the oracle on y ` +
        `${where} (${metrics.failingElements} of ${metrics.elements} elements out of bound, max ${metrics.maxErrorInBounds.toPrecision(3)} bounds)`,
      { id, witness: witness.name, output: 'y', worst },
    );
  }
  return { computeDtype: computed.computeDtype, rule, maxErrorInBounds: metrics.maxErrorInBounds };
}
