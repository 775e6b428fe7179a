/**
 * Scoring under a declared precision class (conformance/score.ts) on real corpus
 * fixtures, and the `precision` declaration in capabilities (conformance/host/capabilities.ts).
 */
import { join } from 'node:path';
import t from 'tap';
import { validateCapabilities } from '../../conformance/host/capabilities.js';
import { scoreFixture } from '../../conformance/score.js';
import { winogradBackward } from '../../conformance/self-test/winograd-kernel.js';
import { loadFixture } from '../../src/fixture-io.js';
import { bundledCorpusDir } from '../../src/paths.js';
import { winogradAbsoluteEvaluation, type PrecisionClass } from '../../src/precision-class.js';
import { bitsToFloat64, float64ToBits, toFloat64Array } from '../../src/dtype.js';
import type { Float64Tensor, Tensor } from '../../src/types.js';

function float64Of(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: tensor.shape, data: toFloat64Array(tensor.data, tensor.dtype) };
}

t.test('a genuine F(4x4,3x3) result on an exact fixture: fails the bit-exact rule, passes the winograd class, which the outcome records', async (t) => {
  const fixture = await loadFixture(join(bundledCorpusDir(), 'basic-3x3-pad1-exact-f32'));
  const tile = { output: 4, kernel: 3 };
  const outputs = winogradBackward(tile, { x: fixture.x, w: fixture.w, dy: fixture.dy, params: fixture.meta.params, id: fixture.meta.id });
  const score = (precision?: PrecisionClass) =>
    scoreFixture({ fixture, outputs, declared: ['dx', 'dw', 'db'], seconds: 0, ...(precision !== undefined ? { precision } : {}) });
  const direct = score();
  // The constants 1/6, 1/12, 1/24 are rounded to float32, so the integer sums come out off by an ulp or more.
  t.equal(direct.status, 'fail', 'not bit-exact');
  t.equal(direct.precision, undefined);
  const precision: PrecisionClass = { algorithm: 'winograd', tile, fpmath: 'strict' };
  const judged = score(precision);
  t.equal(judged.status, 'pass');
  t.same(judged.precision, precision);
});

t.test('a bf16-input direct result on a normal fixture: fails strict float32, passes fpmath bf16', async (t) => {
  const fixture = await loadFixture(join(bundledCorpusDir(), 'basic-3x3-pad1-normal-f32'));
  const { default: adapter } = await import('../../conformance/self-test/implementations/fpmath-bf16-inputs.js');
  const outputs = await adapter.conv2dBackward({ x: fixture.x, w: fixture.w, dy: fixture.dy, params: fixture.meta.params, id: fixture.meta.id });
  const base = { fixture, outputs, declared: ['dx', 'dw', 'db'] as const, seconds: 0 };
  t.equal(scoreFixture({ ...base, declared: [...base.declared] }).status, 'fail');
  t.equal(scoreFixture({ ...base, declared: [...base.declared], precision: { algorithm: 'direct', fpmath: 'bf16' } }).status, 'pass');
});

t.test('capabilities: precision is optional, validated, and kept', async (t) => {
  const plain = validateCapabilities({ name: 'a' }, 'a.mjs', { allowFunction: false });
  t.equal(plain.precision, undefined, 'absent: direct/strict, not written');
  const declared = validateCapabilities({ name: 'a', precision: { algorithm: 'winograd', tile: { output: 2, kernel: 3 } } }, 'a.mjs', { allowFunction: false });
  t.same(declared.precision, { algorithm: 'winograd', tile: { output: 2, kernel: 3 }, fpmath: 'strict' });
  t.throws(() => validateCapabilities({ name: 'a', precision: { algorithm: 'winograd', tile: { output: 6, kernel: 3 } } }, 'a.mjs', { allowFunction: false }), {
    code: 'E_ADAPTER_LOAD',
    message: /precision.tile: expected \{ output: 2, kernel: 3 \} or \{ output: 4, kernel: 3 \} for algorithm winograd, found \{"output":6,"kernel":3\}/,
  });
});

t.test('winograd declared on a fixture outside its tile (2x3 kernel): the exact rule still applies', async (t) => {
  const fixture = await loadFixture(join(bundledCorpusDir(), 'kernel-2x3-exact-f32'));
  const { default: naive } = await import('../../conformance/adapters/naive.js');
  const outputs = await naive.conv2dBackward({ x: fixture.x, w: fixture.w, dy: fixture.dy, params: fixture.meta.params, id: fixture.meta.id });
  const dx = outputs.dx!.data as Float32Array;
  // One ulp off at an element of magnitude >= 1: within any bound, not bit-exact.
  const index = dx.findIndex((value) => Math.abs(value) >= 1);
  dx[index] = dx[index] * (1 + 2 ** -23);
  const precision: PrecisionClass = { algorithm: 'winograd', tile: { output: 2, kernel: 3 }, fpmath: 'strict' };
  const judged = scoreFixture({ fixture, outputs, declared: ['dx', 'dw', 'db'], seconds: 0, precision });
  t.equal(judged.status, 'fail', 'bit-exactness kept where the algorithm does not apply');
  const tf32 = scoreFixture({ fixture, outputs, declared: ['dx', 'dw', 'db'], seconds: 0, precision: { algorithm: 'direct', fpmath: 'tf32' } });
  t.equal(tf32.status, 'pass', 'tf32 input rounding makes it a bound fixture');
});

t.test('fft: a radix-2 FFT result on an exact fixture fails bit-exactness and passes the fft class; its planes pass or fail as a whole', async (t) => {
  const fixture = await loadFixture(join(bundledCorpusDir(), 'basic-3x3-pad1-exact-f32'));
  const { fftBackward } = await import('../../conformance/self-test/fft-kernel.js');
  const outputs = fftBackward({ x: fixture.x, w: fixture.w, dy: fixture.dy, params: fixture.meta.params, id: fixture.meta.id });
  const fft: PrecisionClass = { algorithm: 'fft', fpmath: 'strict' };
  const score = (got: typeof outputs, precision?: PrecisionClass) =>
    scoreFixture({ fixture, outputs: got, declared: ['dx', 'dw', 'db'], seconds: 0, ...(precision !== undefined ? { precision } : {}) });
  t.equal(score(outputs).status, 'fail', 'float32 FFT round-off: not bit-exact');
  const judged = score(outputs, fft);
  t.equal(judged.status, 'pass');
  t.same(judged.precision, fft);

  // The expected values themselves (integers, exact in float32), with one dx element of plane (0, 0) moved by delta:
  // the plane's error norm is delta, so the plane passes below its bound and fails, all H*W elements, above it.
  const [, , height, width] = fixture.meta.shapes.x;
  const shifted = (delta: number) => {
    const dx = Float32Array.from(fixture.dx.data);
    dx[5] = dx[5] + delta;
    return { ...outputs, dx: { dtype: 'float32' as const, shape: fixture.meta.shapes.x, data: dx }, dw: { dtype: 'float32' as const, shape: fixture.meta.shapes.w, data: Float32Array.from(fixture.dw.data) } };
  };
  const probe = score(shifted(2 ** -10), fft);
  const bound = probe.status === 'pass' ? probe.outputs.find((metric) => metric.output === 'dx')!.worst!.bound : NaN;
  t.ok(bound > 0 && Number.isFinite(bound), `plane (0, 0) bound ${bound}`);
  t.equal(score(shifted(Math.fround(0.9 * bound)), fft).status, 'pass', '0.9 bound passes');
  const over = score(shifted(Math.fround(1.1 * bound) + 2 ** -8), fft);
  t.equal(over.status, 'fail', '1.1 bound fails');
  t.equal(over.status === 'fail' ? over.outputs.find((metric) => metric.output === 'dx')!.failingElements : 0, height * width, 'the whole plane (0, 0) fails, no other');
});

t.test('winograd where the transforms of the data can overflow float16 but the direct sums cannot: not judged, and said why', async (t) => {
  const fixture = await loadFixture(join(bundledCorpusDir(), 'basic-3x3-pad1-normal-f16'));
  const tile = { output: 4, kernel: 3 };
  const magnitudeMax = Math.max(...(['dx-magnitude', 'dw-magnitude', 'db-magnitude'] as const).map((name) => Math.max(...(fixture[name].data as Float64Array))));
  const evaluation = winogradAbsoluteEvaluation(tile, float64Of(fixture.x), float64Of(fixture.w), float64Of(fixture.dy), fixture.meta.params);
  // Scale dy by 2^s (exact in float16 and float64): every direct sum stays below half of 65504,
  // while the transforms' largest intermediate passes 65504 (the premise, checked next).
  const s = Math.floor(Math.log2(65504 / (2 * magnitudeMax)));
  const peak = Math.max(evaluation.dx.peak, evaluation.dw.peak);
  t.ok(peak * 2 ** s > 65504, `the transforms reach ${(peak * 2 ** s).toFixed(0)} after scaling by 2^${s}`);
  const scaleBits = (tensor: Tensor): Tensor => ({
    ...tensor,
    data: Uint16Array.from(tensor.data as Uint16Array, (bits) => float64ToBits(bitsToFloat64(bits, 'float16') * 2 ** s, 'float16')),
  });
  const scale = (tensor: Float64Tensor): Float64Tensor => ({ ...tensor, data: tensor.data.map((value) => value * 2 ** s) });
  const scaled = {
    ...fixture,
    dy: scaleBits(fixture.dy),
    dx: scale(fixture.dx),
    dw: scale(fixture.dw),
    db: scale(fixture.db),
    'dx-magnitude': scale(fixture['dx-magnitude']),
    'dw-magnitude': scale(fixture['dw-magnitude']),
    'db-magnitude': scale(fixture['db-magnitude']),
  };
  // A result: the exact gradients rounded once to float16 (within every bound where there is one).
  const rounded = (tensor: Float64Tensor): Tensor => ({ dtype: 'float16', shape: tensor.shape, data: Uint16Array.from(tensor.data, (value) => float64ToBits(value, 'float16')) });
  const outputs = { dx: rounded(scaled.dx), dw: rounded(scaled.dw), db: rounded(scaled.db) };
  const precision: PrecisionClass = { algorithm: 'winograd', tile, fpmath: 'strict' };
  const judged = scoreFixture({ fixture: scaled, outputs, declared: ['dx', 'dw', 'db'], seconds: 0, precision });
  t.match(judged, { status: 'skipped', reason: /^no bound under winograd F\(4x4,3x3\): the transforms of this fixture's data reach [\d.e+]+ in d[xw], beyond float16's largest value 65504/ });
  t.equal(scoreFixture({ fixture: scaled, outputs, declared: ['dx', 'dw', 'db'], seconds: 0 }).status, 'pass', 'the direct rule still judges it');
});
