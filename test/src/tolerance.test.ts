/**
 * The error bound of src/tolerance.ts: its constants, and that it holds (with little
 * slack) for sums actually computed in float16 and float32.
 */
import t from 'tap';
import { DTYPE_INFO, roundToDtype } from '../../src/dtype.js';
import { Prng } from '../../src/prng.js';
import { boundCoefficients, coefficientsForDtype, elementBound, gamma, typicalError } from '../../src/tolerance.js';
import type { Dtype } from '../../src/types.js';

const FLOAT64_U = 2 ** -53;

t.test('gamma_k(u) = k*u / (1 - k*u), Infinity once k*u >= 1', async (t) => {
  const u = DTYPE_INFO.float16.unitRoundoff; // 2^-11
  t.equal(gamma(0, u), 0);
  // k=1: 2^-11 / (1 - 2^-11) = 1/2047.
  t.equal(gamma(1, u), 1 / 2047);
  // k=1024: k*u = 1/2 -> (1/2)/(1/2) = 1.
  t.equal(gamma(1024, u), 1);
  // k=2047: (2047/2048) / (1/2048) = 2047, still finite.
  t.equal(gamma(2047, u), 2047);
  // k=2048: k*u = 1 exactly -> no bound.
  t.equal(gamma(2048, u), Infinity);
  t.equal(gamma(2049, u), Infinity);
  t.equal(gamma(2 ** 24, DTYPE_INFO.float32.unitRoundoff), Infinity, 'float32: k = 2^24 gives k*u = 1');
  t.ok(Number.isFinite(gamma(2 ** 24 - 1, DTYPE_INFO.float32.unitRoundoff)));
  // Increasing in k while finite.
  let increasing = true;
  for (let k = 1; k < 2047; k++) if (!(gamma(k + 1, u) > gamma(k, u))) increasing = false;
  t.ok(increasing);
});

t.test('bound coefficients and the element bound formula', async (t) => {
  const u = DTYPE_INFO.float32.unitRoundoff;
  const eta = DTYPE_INFO.float32.underflowSpacing;
  const coefficients = coefficientsForDtype(4, 'float32');
  t.same(coefficients, boundCoefficients(4, u, eta));
  t.equal(coefficients.magnitudeFactor, (4 * u) / (1 - 4 * u) + 2 * ((4 * FLOAT64_U) / (1 - 4 * FLOAT64_U)));
  t.equal(coefficients.expectedFactor, u);
  t.equal(coefficients.absoluteFloor, 5 * eta, '(k+1)*eta');
  t.equal(coefficients.typicalFactor, 2 * u, 'sqrt(4)*u');
  // bound = factor*M + u*|expected| + floor; typical = sqrt(k)*u*M + u*|expected| + floor.
  t.equal(elementBound(coefficients, -2, 10), coefficients.magnitudeFactor * 10 + u * 2 + 5 * eta);
  t.equal(typicalError(coefficients, -2, 10), 2 * u * 10 + u * 2 + 5 * eta);
  // An accumulation length of 0 (an empty sum) is treated as 1.
  t.same(boundCoefficients(0, u, eta), boundCoefficients(1, u, eta));
  // sqrt(k)*u < gamma_k(u) for k >= 2: tight is stricter than the bound.
  for (const k of [2, 9, 100, 10000]) {
    const c = coefficientsForDtype(k, 'float32');
    t.ok(typicalError(c, 1, 1) < elementBound(c, 1, 1), `k=${k}: typical < bound`);
  }
});

t.test('M = 0 gives a finite bound even when gamma is Infinity', async (t) => {
  // float16 with k = 4096: k*u = 2, gamma = Infinity. M = 0 means all products are 0, so the
  // exact sum is 0 and so is every partial sum: the bound is u*0 + (k+1)*eta.
  const coefficients = coefficientsForDtype(4096, 'float16');
  t.equal(coefficients.magnitudeFactor, Infinity);
  t.equal(elementBound(coefficients, 0, 0), 4097 * 2 ** -24);
  t.equal(elementBound(coefficients, 0, 1), Infinity, 'with M > 0 there is no bound');
});

/** Sum of products, rounding after every operation to the dtype (the worst an implementation can do). */
function sumInDtype(products: number[], dtype: Dtype): number {
  let sum = 0;
  for (const product of products) sum = roundToDtype(sum + roundToDtype(product, dtype), dtype);
  return sum;
}

t.test('the bound holds for sums computed in float16 and float32', async (t) => {
  const prng = new Prng(0x70e);
  for (const dtype of ['float16', 'float32'] as Dtype[]) {
    let worstRatio = 0;
    let violations = 0;
    for (let trial = 0; trial < 300; trial++) {
      const k = prng.integer(1, 300);
      const products: number[] = [];
      for (let term = 0; term < k; term++) {
        // Inputs representable in the dtype, so each product is exact in float64 (at most 2*24 bits).
        const a = roundToDtype(prng.normal() * (trial % 3 === 0 ? 1 : 8), dtype);
        const b = roundToDtype(prng.normal() + (trial % 2 === 0 ? 0.5 : 0), dtype);
        products.push(a * b);
      }
      let expected = 0; // float64 reference (its own error is within 2*gamma_k(2^-53)*M, part of the bound)
      let magnitude = 0;
      for (const product of products) {
        expected += product;
        magnitude += Math.abs(product);
      }
      const got = sumInDtype(products, dtype);
      const bound = elementBound(coefficientsForDtype(k, dtype), expected, magnitude);
      const ratio = Math.abs(got - expected) / bound;
      if (ratio > 1) violations++;
      if (ratio > worstRatio) worstRatio = ratio;
    }
    t.equal(violations, 0, `${dtype}: 300 random sums within the bound (worst ${worstRatio.toFixed(3)} of it)`);
  }
});

t.test('the bound is nearly attained by stagnation in float16', async (t) => {
  // 2048 + 1 + 1 + ... (100 ones) in float16: the spacing at 2048 is 2, so each 2048 + 1 is a
  // tie that rounds to the even 2048. Computed 2048, exact 2148: error 100.
  const products = [2048, ...new Array<number>(100).fill(1)];
  const got = sumInDtype(products, 'float16');
  t.equal(got, 2048);
  // k = 101, M = 2148: gamma_101(2^-11) * 2148 = (101/2048)/(1 - 101/2048) * 2148 ~ 111.4, plus
  // u*2148 ~ 1.05 and negligible float64 terms: bound ~ 112.5, so the error 100 uses ~89% of it.
  const bound = elementBound(coefficientsForDtype(101, 'float16'), 2148, 2148);
  t.ok(100 <= bound, `error 100 <= bound ${bound}`);
  t.ok(100 / bound > 0.85, 'the bound is not loose by orders of magnitude here');
});
