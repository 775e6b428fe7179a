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
import type { PrecisionClass } from '../../src/precision-class.js';

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
