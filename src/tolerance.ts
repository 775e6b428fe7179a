/**
 * The error bound, written once and used by the witnesses and the runner.
 *
 * Each output element is a sum of k products (x*dy for dw, dy*w for dx, dy for db).
 * Every input is exactly representable in the fixture's dtype, so the only errors
 * an implementation makes are in the products and the additions. For any summation
 * order, with or without FMA, in any precision at least the dtype's (Higham,
 * Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 3.5 and §3.1):
 *
 *   |computed - exact| <= gamma_k(u) * M,      gamma_k(u) = k*u / (1 - k*u)
 *
 * where M is the sum of |products| (the magnitude array, src/oracle) and u the
 * unit roundoff of the dtype. Rounding the result into the dtype adds u*|exact|,
 * underflow adds at most one subnormal spacing eta per operation, and the
 * float64 expected value itself is off by at most gamma_k(2^-53)*M. So:
 *
 *   bound = (gamma_k(u) + 2*gamma_k(2^-53)) * M + u*|expected| + (k+1)*eta
 *
 * A correct implementation can never exceed it. The "typical" error of a sum of
 * k rounded terms grows like sqrt(k)*u*M (errors of random sign): a pass within
 *   typical = sqrt(k)*u*M + u*|expected| + (k+1)*eta
 * is graded `tight`.
 */
import { DTYPE_INFO } from './dtype.js';
import type { Dtype } from './types.js';

const FLOAT64_UNIT_ROUNDOFF = 2 ** -53;

/** gamma_k(u) = k*u / (1 - k*u); Infinity once k*u >= 1 (no bound can be given). */
export function gamma(accumulationLength: number, unitRoundoff: number): number {
  const ku = accumulationLength * unitRoundoff;
  return ku >= 1 ? Infinity : ku / (1 - ku);
}

/** The constants the bound of one output needs. */
export interface BoundCoefficients {
  /** Multiplies M: gamma_k(u) + 2*gamma_k(2^-53). */
  magnitudeFactor: number;
  /** Multiplies |expected|: u. */
  expectedFactor: number;
  /** Added: (k+1)*eta. */
  absoluteFloor: number;
  /** Multiplies M in the typical error: sqrt(k)*u. */
  typicalFactor: number;
}

export function boundCoefficients(accumulationLength: number, unitRoundoff: number, underflowSpacing: number): BoundCoefficients {
  const k = Math.max(1, accumulationLength);
  return {
    magnitudeFactor: gamma(k, unitRoundoff) + 2 * gamma(k, FLOAT64_UNIT_ROUNDOFF),
    expectedFactor: unitRoundoff,
    absoluteFloor: (k + 1) * underflowSpacing,
    typicalFactor: Math.sqrt(k) * unitRoundoff,
  };
}

export function coefficientsForDtype(accumulationLength: number, dtype: Dtype): BoundCoefficients {
  const info = DTYPE_INFO[dtype];
  return boundCoefficients(accumulationLength, info.unitRoundoff, info.underflowSpacing);
}

/** The proven bound of one element. */
export function elementBound(coefficients: BoundCoefficients, expected: number, magnitude: number): number {
  // M = 0 means every product is exactly 0, so every partial sum is exactly 0: that term is 0
  // even when gamma is Infinity (Infinity * 0 would give NaN, and a NaN bound fails nothing).
  const magnitudeTerm = magnitude === 0 ? 0 : coefficients.magnitudeFactor * magnitude;
  return magnitudeTerm + coefficients.expectedFactor * Math.abs(expected) + coefficients.absoluteFloor;
}

/** The typical (sqrt(k)) error of one element, for the `tight` grade. */
export function typicalError(coefficients: BoundCoefficients, expected: number, magnitude: number): number {
  return coefficients.typicalFactor * magnitude + coefficients.expectedFactor * Math.abs(expected) + coefficients.absoluteFloor;
}
