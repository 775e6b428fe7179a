/**
 * Scoring y (conformance/score.ts scoreForward) on a corpus fixture with its expected forward
 * attached (src/forward-expected.ts; the corpus files gain y in 1.2.0): the oracle's y rounded
 * once passes, an element off by one fails with 'y' in `failing`; under fpmath tf32 the bound
 * admits inputs rounded to tf32, where strict float32 does not; a Winograd class is judged by
 * the direct rule, with a note.
 */
import { join } from 'node:path';
import t from 'tap';
import { scoreFixture } from '../../conformance/score.js';
import { fromFloat64Array, roundToDtype, toFloat64Array } from '../../src/dtype.js';
import { loadFixture } from '../../src/fixture-io.js';
import { forwardExpectation } from '../../src/forward-expected.js';
import { conv2dForward } from '../../src/oracle/index.js';
import { bundledCorpusDir } from '../../src/paths.js';
import type { PrecisionClass } from '../../src/precision-class.js';
import type { Float64Tensor, Tensor } from '../../src/types.js';

function float64Of(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: tensor.shape, data: toFloat64Array(tensor.data, tensor.dtype) };
}

/** float32 -> tf32 (10 explicit significand bits), round to nearest even. */
function toTf32(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const exponent = Math.floor(Math.log2(Math.abs(value)));
  const quantum = 2 ** (exponent - 10);
  const scaled = value / quantum;
  const floor = Math.floor(scaled);
  const rest = scaled - floor;
  const rounded = rest > 0.5 || (rest === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return rounded * quantum;
}

async function setup(id: string) {
  const fixture = await loadFixture(join(bundledCorpusDir(), id));
  const [x, w] = [float64Of(fixture.x), float64Of(fixture.w)];
  const forward = forwardExpectation(x, w, fixture.meta.params, fixture.meta.dtype);
  const gradients = { dx: fixture.dx, dw: fixture.dw, db: fixture.db };
  const outputs = Object.fromEntries(Object.entries(gradients).map(([name, tensor]) => [name, { dtype: 'float32', shape: tensor.shape, data: fromFloat64Array(tensor.data, 'float32') } as Tensor]));
  const yOf = (values: Float64Tensor): Tensor => ({ dtype: 'float32', shape: values.shape, data: fromFloat64Array(values.data.map((value) => roundToDtype(value, 'float32')), 'float32') });
  const score = (y: Tensor, precision?: PrecisionClass) =>
    scoreFixture({ fixture, outputs, declared: ['dx', 'dw', 'db'], seconds: 0, forward: { y, expected: forward }, ...(precision !== undefined ? { precision } : {}) });
  return { fixture, x, w, forward, yOf, score };
}

t.test('y rounded once passes; one element off by one fails with y named', async (t) => {
  const { forward, yOf, score } = await setup('basic-3x3-pad1-normal-f32');
  const good = score(yOf(forward.y));
  t.equal(good.status, 'pass');
  t.ok(good.status === 'pass' && good.outputs.some((metrics) => metrics.output === 'y' && metrics.elements === forward.y.data.length), 'y is among the scored outputs');
  const off = { ...forward.y, data: Float64Array.from(forward.y.data) };
  off.data[5] += 1;
  const bad = score(yOf(off));
  t.equal(bad.status, 'fail');
  t.same(bad.status === 'fail' && bad.failing, ['y'], 'only y fails');
});

t.test('fpmath tf32: y from tf32-rounded inputs fails strict float32 and passes the tf32 class', async (t) => {
  const { fixture, x, w, score } = await setup('basic-3x3-pad1-normal-f32');
  const rounded = (tensor: Float64Tensor): Float64Tensor => ({ ...tensor, data: tensor.data.map(toTf32) });
  const y = conv2dForward(rounded(x), rounded(w), undefined, fixture.meta.params);
  const tensor: Tensor = { dtype: 'float32', shape: y.shape, data: fromFloat64Array(y.data, 'float32') };
  t.equal(score(tensor).status, 'fail', 'strict float32: the tf32 input rounding is beyond the bound');
  const judged = score(tensor, { algorithm: 'direct', fpmath: 'tf32' });
  t.equal(judged.status, 'pass', 'within the tf32 class bound');
});

t.test('a Winograd class: y judged by the direct rule, and the outcome says so', async (t) => {
  const { forward, yOf, score } = await setup('basic-3x3-pad1-normal-f32');
  const judged = score(yOf(forward.y), { algorithm: 'winograd', tile: { output: 2, kernel: 3 }, fpmath: 'strict' });
  t.equal(judged.status, 'pass');
  t.match(judged.notes ?? [], [/y judged by the direct rule: the winograd class's bound is derived for the backward/]);
});
