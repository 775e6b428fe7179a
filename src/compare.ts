/**
 * Element-wise comparison of a computed gradient with the expected float64 one.
 * It returns data (metrics, worst element); callers judge from `failingElements`.
 *
 * Per element:
 *  - expected NaN matches only NaN; expected ±Inf only the same infinity;
 *  - a non-finite result where a finite one is expected never matches;
 *  - rule `exact`: the result must equal the expected value rounded to the dtype (-0 == +0);
 *  - rule `bound`: |got - expected| <= bound (src/tolerance.ts), or, when `classBound` is
 *    given, the precision class's bound (src/precision-class.ts).
 */
import { roundToDtype, ulpDistance } from './dtype.js';
import { unflattenIndex } from './geometry.js';
import { classElementBound, classTypicalError, type ClassCoefficients } from './precision-class.js';
import { coefficientsForDtype, elementBound, typicalError } from './tolerance.js';
import type { Dtype, OutputMetrics, OutputName, PassGrade, ScoredName, WorstElement } from './types.js';

export interface CompareInput {
  output: ScoredName;
  shape: number[];
  dtype: Dtype;
  rule: 'exact' | 'bound';
  accumulationLength: number;
  expected: Float64Array;
  magnitude: Float64Array;
  /**
   * The computed values as numbers of `dtype`: decoded to float64, or a Float32Array
   * for float32 (its elements read as the same float64 values, no copy needed).
   */
  got: Float64Array | Float32Array;
  /** When given, filled per element: the error in bound units (Infinity: no bound excuses it) and whether it fails. */
  errorMap?: { errorInBounds: Float64Array; failed: Uint8Array };
  /**
   * A precision class's elementwise bound instead of the direct one: its coefficients and the
   * absolute evaluation Mt per element (the magnitude itself for the direct algorithm).
   */
  classBound?: { coefficients: ClassCoefficients; absoluteEvaluation: Float64Array };
}

/** The worst element of a comparison (null when none was scored: index -1), with its bound. */
function worstElement(flatIndex: number, shape: readonly number[], expected: ArrayLike<number>, got: ArrayLike<number>, bound: number): WorstElement | null {
  if (flatIndex < 0) return null;
  return { index: unflattenIndex(flatIndex, [...shape]), flatIndex, expected: expected[flatIndex], got: got[flatIndex], bound };
}

/** Rounding of a float64 to the dtype, picked once per output rather than per element. */
function rounderFor(dtype: Dtype): (value: number) => number {
  if (dtype === 'float64') return (value) => value;
  if (dtype === 'float32') return Math.fround;
  return (value) => roundToDtype(value, dtype);
}

export function compareOutput(input: CompareInput): OutputMetrics {
  const { expected, magnitude, got, dtype, rule } = input;
  const coefficients = coefficientsForDtype(input.accumulationLength, dtype);
  const round = rounderFor(dtype);
  const exactRule = rule === 'exact';
  const classBound = input.classBound;
  const boundOf = (index: number, want: number): number =>
    classBound === undefined
      ? elementBound(coefficients, want, magnitude[index])
      : classElementBound(classBound.coefficients, want, magnitude[index], classBound.absoluteEvaluation[index]);
  const typicalOf = (index: number, want: number): number =>
    classBound === undefined
      ? typicalError(coefficients, want, magnitude[index])
      : classTypicalError(classBound.coefficients, want, classBound.absoluteEvaluation[index]);
  let failingElements = 0;
  let maxErrorInBounds = 0;
  let maxErrorInTypical = 0;
  let maxUlp = 0;
  let maxAbsError = 0;
  let maxRelError = 0;
  let allExact = true;
  let worstIndex = -1;
  let worstScore = -1;
  let worstFailed = false;
  let worstBound = 0;

  for (let index = 0; index < expected.length; index++) {
    const want = expected[index];
    const have = got[index];
    let score: number; // error in units of the bound; Infinity for a mismatch no bound can excuse
    let failed: boolean;
    let bound = 0;
    // value - value is 0 exactly for finite values, NaN for NaN and ±Infinity.
    if (want - want !== 0 || have - have !== 0) {
      const matches = want !== want ? have !== have : want === have;
      failed = !matches;
      score = matches ? 0 : Infinity;
      if (!matches) {
        allExact = false;
        maxUlp = Infinity;
        maxAbsError = Infinity;
        maxRelError = Infinity;
        maxErrorInTypical = Infinity;
      }
    } else {
      const rounded = round(want);
      const error = Math.abs(have - want);
      bound = boundOf(index, want);
      const sameAsRounded = have === rounded;
      failed = exactRule ? !sameAsRounded : error > bound;
      if (error === 0) {
        // have === want: a score, typical score, ulp distance and relative error of 0 change no maximum.
        score = 0;
      } else {
        score = error / bound;
        const typicalScore = error / typicalOf(index, want);
        if (typicalScore > maxErrorInTypical) maxErrorInTypical = typicalScore;
        if (error > maxAbsError) maxAbsError = error;
        const relative = want === 0 ? Infinity : error / Math.abs(want);
        if (relative > maxRelError) maxRelError = relative;
      }
      if (!sameAsRounded) {
        allExact = false;
        const ulps = ulpDistance(have, rounded, dtype);
        if (ulps > maxUlp) maxUlp = ulps;
      }
    }
    if (failed) failingElements++;
    if (input.errorMap !== undefined) {
      input.errorMap.errorInBounds[index] = score;
      input.errorMap.failed[index] = failed ? 1 : 0;
    }
    // The worst element is the largest score, failing elements first (compared as a pair:
    // adding a large constant to the score would erase the order among failing elements).
    const worse = failed !== worstFailed ? failed : score > worstScore;
    if ((score > 0 || failed) && worse) {
      worstScore = score;
      worstFailed = failed;
      worstIndex = index;
      worstBound = bound;
    }
    if (score > maxErrorInBounds) maxErrorInBounds = score;
  }

  const worst = worstElement(worstIndex, input.shape, expected, got, worstBound);
  let grade: PassGrade | null = null;
  if (failingElements === 0) grade = allExact ? 'exact' : maxErrorInTypical <= 1 ? 'tight' : 'within-bound';
  return {
    output: input.output,
    elements: expected.length,
    failingElements,
    maxErrorInBounds,
    maxErrorInTypical,
    maxUlp,
    maxAbsError,
    maxRelError,
    worst,
    grade,
  };
}

/** A normwise bound per output plane (the FFT class): planes are consecutive runs of `planeSize` elements. */
export interface PlaneBounds {
  planeSize: number;
  /** Per plane: the bound on ||got - expected||_2 over its finite elements. */
  bound: Float64Array;
  /** Per plane: the typical error, for the `tight` grade. */
  typical: Float64Array;
}

/**
 * Normwise comparison per plane: the NaN, infinity and signed-zero rules stay per element
 * (as in compareOutput); the finite elements of a plane pass together when
 * ||got - expected||_2 <= the plane's bound, and fail together otherwise. An element's
 * error in bounds is |got - expected| / (its plane's bound), so a plane fails exactly when
 * the 2-norm of its elements' errors in bounds exceeds 1; maxErrorInBounds is the largest
 * plane ratio.
 */
export function compareOutputNormwise(input: Omit<CompareInput, 'rule' | 'accumulationLength' | 'magnitude' | 'classBound'> & { planes: PlaneBounds }): OutputMetrics {
  const { expected, got, dtype, planes } = input;
  const round = rounderFor(dtype);
  const planeCount = planes.bound.length;
  const squares = new Float64Array(planeCount);
  const elementFailed = new Uint8Array(expected.length);
  let maxUlp = 0;
  let maxAbsError = 0;
  let maxRelError = 0;
  let allExact = true;
  let nonFinite = false;
  for (let index = 0; index < expected.length; index++) {
    const want = expected[index];
    const have = got[index];
    if (want - want !== 0 || have - have !== 0) {
      const matches = want !== want ? have !== have : want === have;
      if (!matches) {
        elementFailed[index] = 1;
        nonFinite = true;
        allExact = false;
        maxUlp = maxAbsError = maxRelError = Infinity;
      }
      continue;
    }
    const error = Math.abs(have - want);
    squares[Math.floor(index / planes.planeSize)] += error * error;
    if (error > maxAbsError) maxAbsError = error;
    if (error > 0) {
      const relative = want === 0 ? Infinity : error / Math.abs(want);
      if (relative > maxRelError) maxRelError = relative;
    }
    const rounded = round(want);
    if (have !== rounded) {
      allExact = false;
      const ulps = ulpDistance(have, rounded, dtype);
      if (ulps > maxUlp) maxUlp = ulps;
    }
  }
  const planeRatio = new Float64Array(planeCount);
  let maxErrorInBounds = nonFinite ? Infinity : 0;
  let maxErrorInTypical = nonFinite ? Infinity : 0;
  for (let plane = 0; plane < planeCount; plane++) {
    const norm = Math.sqrt(squares[plane]);
    planeRatio[plane] = norm === 0 ? 0 : norm / planes.bound[plane];
    if (planeRatio[plane] > maxErrorInBounds) maxErrorInBounds = planeRatio[plane];
    const typical = norm === 0 ? 0 : norm / planes.typical[plane];
    if (typical > maxErrorInTypical) maxErrorInTypical = typical;
  }
  let failingElements = 0;
  let worstIndex = -1;
  let worstKey = -1;
  let worstFailed = false;
  for (let index = 0; index < expected.length; index++) {
    const plane = Math.floor(index / planes.planeSize);
    const failed = elementFailed[index] === 1 || !(planeRatio[plane] <= 1);
    if (failed) failingElements++;
    const error = Math.abs(got[index] - expected[index]);
    const score = elementFailed[index] === 1 ? Infinity : error / planes.bound[plane];
    if (input.errorMap !== undefined) {
      input.errorMap.errorInBounds[index] = error === 0 && elementFailed[index] === 0 ? 0 : score;
      input.errorMap.failed[index] = failed ? 1 : 0;
    }
    // The worst element: failing first, then the largest plane ratio, then the largest error in it.
    const key = elementFailed[index] === 1 ? Infinity : planeRatio[plane] + (error === 0 ? 0 : Math.min(score, 1) * 1e-9);
    const worse = failed !== worstFailed ? failed : key > worstKey;
    if ((key > 0 || failed) && worse) {
      worstKey = key;
      worstFailed = failed;
      worstIndex = index;
    }
  }
  const worst = worstIndex < 0 ? null : worstElement(worstIndex, input.shape, expected, got, planes.bound[Math.floor(worstIndex / planes.planeSize)]);
  let grade: PassGrade | null = null;
  if (failingElements === 0) grade = allExact ? 'exact' : maxErrorInTypical <= 1 ? 'tight' : 'within-bound';
  return { output: input.output, elements: expected.length, failingElements, maxErrorInBounds, maxErrorInTypical, maxUlp, maxAbsError, maxRelError, worst, grade };
}

/** The weakest grade of several passing outputs. */
export function combineGrades(grades: PassGrade[]): PassGrade {
  if (grades.includes('within-bound')) return 'within-bound';
  if (grades.includes('tight')) return 'tight';
  return 'exact';
}
