/**
 * Scoring of one fixture: compare each declared output (already back in NCHW /
 * OIHW) with the expected float64 gradient through src/compare.ts, and judge.
 *
 * A fixture passes when every declared output has no failing element; its grade
 * is the weakest of the outputs' grades (exact < tight < within-bound). Rule
 * 'exact' fixtures must match bit for bit (-0 equals +0); the others must stay
 * within the per-element bound of src/tolerance.ts. Outputs the adapter does not
 * declare are not scored, and the outcome says so in a note.
 */
import { combineGrades, compareOutput } from '../src/compare.js';
import { toFloat64Array } from '../src/dtype.js';
import { magnitudeTensorName, type FixtureTensors, type MagnitudeTensorName } from '../src/fixture-io.js';
import { OUTPUT_NAMES, type FixtureMeta, type Float64Tensor, type OutputMetrics, type OutputName, type Outcome, type PassGrade, type Tensor } from '../src/types.js';

/** The expected side of a fixture: what scoring needs from the corpus. */
export type ExpectedGradients = Pick<FixtureTensors, OutputName | MagnitudeTensorName> & { meta: FixtureMeta };

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
}

/** One output's errors per element, in the corpus layout (row-major over `shape`). */
export interface ErrorMap {
  shape: number[];
  /** |got - expected| / bound; Infinity for a mismatch no bound excuses (non-finite values). */
  errorInBounds: Float64Array;
  /** 1 where the element fails (over the bound, or not bit-exact under the exact rule). */
  failed: Uint8Array;
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
  for (const name of OUTPUT_NAMES) {
    if (!declared.includes(name)) continue;
    const got = outputs[name];
    if (got === undefined) throw new Error(`scoreFixture: output ${name} is declared but was not passed in (fixture ${meta.id})`);
    const expected = fixture[name];
    const map: ErrorMap | undefined =
      input.errorMaps === undefined ? undefined : { shape: [...expected.shape], errorInBounds: new Float64Array(expected.data.length), failed: new Uint8Array(expected.data.length) };
    if (map !== undefined) input.errorMaps![name] = map;
    metrics.push(
      compareOutput({
        output: name,
        shape: expected.shape,
        dtype: meta.dtype,
        rule: meta.tolerance.rule,
        accumulationLength: meta.tolerance.outputs[name].accumulationLength,
        expected: expected.data,
        magnitude: fixture[magnitudeTensorName(name)].data,
        got: valuesOf(got),
        errorMap: map,
      }),
    );
  }
  const base = { ...outcomeBase(meta), ...(notes.length > 0 ? { notes } : {}) };
  const failing = metrics.filter((metric) => metric.failingElements > 0).map((metric) => metric.output);
  if (failing.length > 0) {
    return { ...base, status: 'fail', failing, outputs: metrics, seconds: input.seconds };
  }
  const grade: PassGrade = combineGrades(metrics.map((metric) => metric.grade ?? 'within-bound'));
  return { ...base, status: 'pass', grade, outputs: metrics, seconds: input.seconds };
}
