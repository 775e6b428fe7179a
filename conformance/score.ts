/**
 * Scoring of one fixture: compare each declared output (already back in NCHW /
 * OIHW) with the expected float64 gradient through src/compare.ts, and judge.
 *
 * A fixture passes when every declared output has no failing element; its grade
 * is the weakest of the outputs' grades (exact < tight < within-bound). Rule
 * 'exact' fixtures must match bit for bit (-0 equals +0); the others must stay
 * within the per-element bound of src/tolerance.ts. Outputs the adapter does not
 * declare are not scored, and the outcome says so in a note.
 *
 * An adapter that declares a precision class other than direct/strict is judged by
 * that class's bound (src/precision-class.ts, docs/tolerance.md): its exact fixtures
 * lose bit-exactness unless the class computes exactly what direct does, and the
 * outcome records the class under which it was judged.
 */
import { combineGrades, compareOutput, compareOutputNormwise, type CompareInput, type PlaneBounds } from '../src/compare.js';
import { DTYPE_INFO, toFloat64Array } from '../src/dtype.js';
import {
  classCoefficients,
  fftConstants,
  fftPlaneBound,
  fftPlaneBounds,
  fftSizes,
  inputRoundoff,
  precisionLabel,
  winogradAbsoluteEvaluation,
  winogradApplies,
  type AbsoluteEvaluation,
  type PrecisionClass,
} from '../src/precision-class.js';
import { magnitudeTensorName, type FixtureTensors, type MagnitudeTensorName } from '../src/fixture-io.js';
import {
  OUTPUT_NAMES,
  type FailingName,
  type FixtureMeta,
  type Float64Tensor,
  type ForwardExpectation,
  type GradcheckSummary,
  type InputName,
  type OutputMetrics,
  type OutputName,
  type Outcome,
  type PassGrade,
  type Tensor,
} from '../src/types.js';

/** The expected side of a fixture: what scoring needs from the corpus (the inputs only for the Winograd class's bound). */
export type ExpectedGradients = Pick<FixtureTensors, OutputName | MagnitudeTensorName> & Partial<Pick<FixtureTensors, InputName>> & { meta: FixtureMeta };

export interface ScoreInput {
  fixture: ExpectedGradients;
  /** The adapter's outputs in the corpus layouts, checked for dtype and shape. */
  outputs: Partial<Record<OutputName, Tensor>>;
  /** Outputs the adapter declares. */
  declared: readonly OutputName[];
  /** Seconds inside the adapter for this fixture. */
  seconds: number;
  notes?: string[];
  /** When given, filled with each output's per-element error map (see ErrorMap). */
  errorMaps?: Partial<Record<OutputName, ErrorMap>>;
  /** The adapter's precision class (absent: direct, strict). */
  precision?: PrecisionClass;
  /** The adapter's forward output y (corpus layout, checked) with its expected values: scored like a gradient. */
  forward?: { y: Tensor; expected: ForwardExpectation };
  /** --gradcheck's result; a failing check fails the fixture. */
  gradcheck?: GradcheckSummary;
}

/**
 * Score y like a gradient: the same comparison, rule and bound formula (src/tolerance.ts) with
 * y's magnitude and accumulation length. Under a precision class, y is judged by the direct
 * algorithm's bound with the class's input rounding (tf32, bf16): the Winograd and FFT bounds
 * are derived for the backward's sums, so a Winograd or FFT forward is judged as direct, and
 * the outcome says so in a note (docs/tolerance.md, "The forward output y").
 */
export function scoreForward(meta: FixtureMeta, forward: NonNullable<ScoreInput['forward']>, precision: PrecisionClass | undefined, notes: string[]): OutputMetrics {
  const { expected, y } = forward;
  const directStrict = isDirectStrict(precision, meta.dtype);
  if (precision !== undefined && precision.algorithm !== 'direct') {
    notes.push(`y judged by the direct rule${precision.fpmath === 'strict' ? '' : ` with ${precision.fpmath} input rounding`}: the ${precision.algorithm} class's bound is derived for the backward (docs/tolerance.md)`);
  }
  const k = expected.accumulationLength;
  return compareOutput({
    output: 'y',
    shape: expected.y.shape,
    dtype: meta.dtype,
    rule: directStrict ? expected.rule : 'bound',
    accumulationLength: k,
    expected: expected.y.data,
    magnitude: expected.yMagnitude.data,
    got: valuesOf(y),
    ...(directStrict || precision === undefined ? {} : { classBound: { coefficients: classCoefficients(k, k, meta.dtype, precision.fpmath), absoluteEvaluation: expected.yMagnitude.data } }),
  });
}

/** One output's errors per element, in the corpus layout (row-major over `shape`). */
export interface ErrorMap {
  shape: number[];
  /** |got - expected| / bound; Infinity for a mismatch no bound excuses (non-finite values). */
  errorInBounds: Float64Array;
  /** 1 where the element fails (over the bound, or not bit-exact under the exact rule). */
  failed: Uint8Array;
}

/** Whether a class is judged exactly like direct/strict (no input rounding, direct algorithm). */
export function isDirectStrict(precision: PrecisionClass | undefined, dtype: FixtureMeta['dtype']): boolean {
  return precision === undefined || (precision.algorithm === 'direct' && inputRoundoff(dtype, precision.fpmath) === 0);
}

function asFloat64(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: tensor.shape, data: tensor.data instanceof Float64Array ? tensor.data : toFloat64Array(tensor.data, tensor.dtype) };
}

type ClassBounds = Partial<Record<OutputName, NonNullable<CompareInput['classBound']>>>;

/**
 * The class's bound for each output: coefficients and absolute evaluation (null for
 * direct/strict), or why the class has no bound for this fixture's data.
 */
function classBounds(fixture: ExpectedGradients, precision: PrecisionClass | undefined): ClassBounds | { noBound: string } | null {
  const { meta } = fixture;
  if (precision === undefined || isDirectStrict(precision, meta.dtype)) return null;
  let evaluations: Partial<Record<OutputName, AbsoluteEvaluation>> = {};
  if (precision.algorithm === 'winograd' && precision.tile !== undefined && winogradApplies(precision.tile, meta.shapes.w, meta.params)) {
    if (fixture.x === undefined || fixture.w === undefined || fixture.dy === undefined) {
      throw new Error(`scoreFixture: the winograd bound needs the inputs of fixture ${meta.id}, which were not passed in`);
    }
    const [x, w, dy] = [asFloat64(fixture.x), asFloat64(fixture.w), asFloat64(fixture.dy)];
    // The componentwise bound needs finite inputs; with a NaN or Inf input only the direct rule is defined.
    const finite = [x, w, dy].every((tensor) => tensor.data.every(Number.isFinite));
    if (finite) evaluations = winogradAbsoluteEvaluation(precision.tile, x, w, dy, meta.params);
    const { maxFinite } = DTYPE_INFO[meta.dtype];
    for (const name of ['dx', 'dw'] as const) {
      const evaluation = evaluations[name];
      if (evaluation === undefined) continue;
      // Every computed intermediate is at most (1 + gamma_D(u)) times its absolute evaluation.
      const reachable = evaluation.peak * (1 + classCoefficients(evaluation.depth, evaluation.depth, meta.dtype, precision.fpmath).algorithmFactor);
      if (reachable > maxFinite) {
        return {
          noBound:
            `no bound under ${precisionLabel(precision)}: the transforms of this fixture's data reach ${reachable.toPrecision(3)} in ${name}, ` +
            `beyond ${meta.dtype}'s largest value ${maxFinite.toPrecision(5)}, so a correct implementation may overflow where the direct sums do not`,
        };
      }
    }
  }
  // The algorithm applies nowhere here and the inputs are not rounded: this fixture is judged as direct/strict.
  if (evaluations.dx === undefined && inputRoundoff(meta.dtype, precision.fpmath) === 0) return null;
  const bounds: Partial<Record<OutputName, NonNullable<CompareInput['classBound']>>> = {};
  for (const name of OUTPUT_NAMES) {
    const k = meta.tolerance.outputs[name].accumulationLength;
    // Where the algorithm does not apply (db; geometry outside the tile's), the direct sum is judged: D = k, Mt = M.
    const evaluation = evaluations[name] ?? { depth: k, values: fixture[magnitudeTensorName(name)].data };
    bounds[name] = { coefficients: classCoefficients(evaluation.depth, k, meta.dtype, precision.fpmath), absoluteEvaluation: evaluation.values };
  }
  return bounds;
}

/**
 * The FFT class's normwise bounds for dx and dw, one per output plane (docs/tolerance.md, FFT),
 * from the fixture's own inputs, expected values and magnitudes; null where the class does not
 * apply (another algorithm, or a NaN or infinite input: then the direct rule with fpmath's v).
 */
function fftBounds(fixture: ExpectedGradients, precision: PrecisionClass | undefined): Partial<Record<OutputName, PlaneBounds>> | null {
  const { meta } = fixture;
  if (precision?.algorithm !== 'fft') return null;
  if (fixture.x === undefined || fixture.w === undefined || fixture.dy === undefined) {
    throw new Error(`scoreFixture: the fft bound needs the inputs of fixture ${meta.id}, which were not passed in`);
  }
  const [x, w, dy] = [asFloat64(fixture.x), asFloat64(fixture.w), asFloat64(fixture.dy)];
  if (![x, w, dy].every((tensor) => tensor.data.every(Number.isFinite))) return null;
  const sizes = fftSizes(x.shape, w.shape, dy.shape, meta.params);
  const v = inputRoundoff(meta.dtype, precision.fpmath);
  const proven = fftConstants(meta.dtype, sizes);
  const typical = fftConstants(meta.dtype, sizes, true);
  const algorithm = fftPlaneBounds(proven, x, w, dy, meta.params.groups, v);
  const typicalAlgorithm = fftPlaneBounds(typical, x, w, dy, meta.params.groups, v);
  const terms: Record<'dx' | 'dw', number> = { dx: meta.shapes.w[0] / meta.params.groups, dw: meta.shapes.x[0] };
  const result: Partial<Record<OutputName, PlaneBounds>> = {};
  for (const name of ['dx', 'dw'] as const) {
    const { planeSize } = algorithm[name];
    const planeCount = algorithm[name].algorithm.length;
    const expected = fixture[name].data;
    const magnitude = fixture[magnitudeTensorName(name)].data;
    const k = meta.tolerance.outputs[name].accumulationLength;
    const bound = new Float64Array(planeCount);
    const typicalBound = new Float64Array(planeCount);
    for (let plane = 0; plane < planeCount; plane++) {
      let expectedSquares = 0;
      let magnitudeSquares = 0;
      for (let index = plane * planeSize; index < (plane + 1) * planeSize; index++) {
        expectedSquares += expected[index] * expected[index];
        magnitudeSquares += magnitude[index] * magnitude[index];
      }
      const [expectedNorm, magnitudeNorm] = [Math.sqrt(expectedSquares), Math.sqrt(magnitudeSquares)];
      bound[plane] = fftPlaneBound(proven, algorithm[name].algorithm[plane], expectedNorm, magnitudeNorm, k, terms[name]);
      typicalBound[plane] = fftPlaneBound(typical, typicalAlgorithm[name].algorithm[plane], expectedNorm, magnitudeNorm, k, terms[name]);
    }
    result[name] = { planeSize, bound, typical: typicalBound };
  }
  return result;
}

/** The fields every outcome of a fixture shares. */
export function outcomeBase(meta: Pick<FixtureMeta, 'id' | 'family' | 'dtype' | 'tags'>): { id: string; family: FixtureMeta['family']; dtype: FixtureMeta['dtype']; tags: string[] } {
  return { id: meta.id, family: meta.family, dtype: meta.dtype, tags: [...meta.tags] };
}

/** The elements as numbers: float32 and float64 data as they are (no copy), float16 bits decoded. */
function valuesOf(tensor: Tensor): Float64Array | Float32Array {
  if (tensor.data instanceof Float64Array || tensor.data instanceof Float32Array) return tensor.data;
  return toFloat64Array(tensor.data, tensor.dtype);
}

export function scoreFixture(input: ScoreInput): Outcome {
  const { fixture, outputs, declared } = input;
  const { meta } = fixture;
  const notes = [...(input.notes ?? [])];
  const metrics: OutputMetrics[] = [];
  const notScored = OUTPUT_NAMES.filter((name) => !declared.includes(name));
  if (notScored.length > 0) {
    notes.push(`${notScored.join(', ')} not scored: the adapter does not declare ${notScored.length === 1 ? 'it' : 'them'} in outputs`);
  }
  const planes = fftBounds(fixture, input.precision);
  // FFT: dx and dw normwise per plane; db (a plain sum) and fixtures with non-finite inputs as direct with fpmath's v.
  const classes = classBounds(fixture, input.precision?.algorithm === 'fft' ? { algorithm: 'direct', fpmath: input.precision.fpmath } : input.precision);
  if (classes !== null && 'noBound' in classes) {
    // Not a pass that did not happen, nor a failure of a correct implementation: not judged, and said why.
    return { ...outcomeBase(meta), status: 'skipped', reason: classes.noBound, ...(input.precision !== undefined ? { precision: input.precision } : {}) };
  }
  const bounds: ClassBounds | null = classes;
  const directStrict = bounds === null;
  for (const name of OUTPUT_NAMES) {
    if (!declared.includes(name)) continue;
    const got = outputs[name];
    if (got === undefined) throw new Error(`scoreFixture: output ${name} is declared but was not passed in (fixture ${meta.id})`);
    const expected = fixture[name];
    const map: ErrorMap | undefined =
      input.errorMaps === undefined ? undefined : { shape: [...expected.shape], errorInBounds: new Float64Array(expected.data.length), failed: new Uint8Array(expected.data.length) };
    if (map !== undefined) input.errorMaps![name] = map;
    const planeBounds = planes?.[name];
    if (planeBounds !== undefined) {
      metrics.push(compareOutputNormwise({ output: name, shape: expected.shape, dtype: meta.dtype, expected: expected.data, got: valuesOf(got), errorMap: map, planes: planeBounds }));
      continue;
    }
    metrics.push(
      compareOutput({
        output: name,
        shape: expected.shape,
        dtype: meta.dtype,
        rule: directStrict ? meta.tolerance.rule : 'bound',
        accumulationLength: meta.tolerance.outputs[name].accumulationLength,
        expected: expected.data,
        magnitude: fixture[magnitudeTensorName(name)].data,
        got: valuesOf(got),
        errorMap: map,
        ...(bounds?.[name] !== undefined ? { classBound: bounds[name] } : {}),
      }),
    );
  }
  if (input.forward !== undefined) metrics.push(scoreForward(meta, input.forward, input.precision, notes));
  const base = {
    ...outcomeBase(meta),
    ...(notes.length > 0 ? { notes } : {}),
    ...(input.precision !== undefined ? { precision: input.precision } : {}),
    ...(input.gradcheck !== undefined ? { gradcheck: input.gradcheck } : {}),
  };
  const failing: FailingName[] = metrics.filter((metric) => metric.failingElements > 0).map((metric) => metric.output);
  if (input.gradcheck?.status === 'fail') failing.push('gradcheck');
  if (failing.length > 0) {
    return { ...base, status: 'fail', failing, outputs: metrics, seconds: input.seconds };
  }
  const grade: PassGrade = combineGrades(metrics.map((metric) => metric.grade ?? 'within-bound'));
  return { ...base, status: 'pass', grade, outputs: metrics, seconds: input.seconds };
}
