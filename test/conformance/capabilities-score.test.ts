/**
 * Adapter declarations (defaults, every malformation named), support decisions,
 * result checks, and scoring of one fixture (pass grades, exact rule, -0, NaN,
 * outputs not declared).
 */
import t from 'tap';
import { inspectAdapterModule, unsupportedReason, validateCapabilities } from '../../conformance/host/capabilities.js';
import { checkBackwardResult, checkOutputTensor } from '../../conformance/host/result-check.js';
import { scoreFixture, type ExpectedGradients } from '../../conformance/score.js';
import type { AdapterCapabilities, FixtureMeta, Float64Tensor } from '../../src/types.js';

t.test('validateCapabilities fills in the defaults', async (t) => {
  t.same(validateCapabilities({ name: 'mine' }, 'mine.js', { allowFunction: true }), {
    name: 'mine',
    layout: 'NCHW',
    filterLayout: 'OIHW',
    dtypes: ['float32'],
    supports: { groups: true, dilation: true, asymmetricPads: true },
    outputs: ['dx', 'dw', 'db'],
  });
  t.same(validateCapabilities({ name: 'mine', supports: { dilation: false } }, 'mine.js', { allowFunction: false }).supports, {
    groups: true,
    dilation: false,
    asymmetricPads: true,
  });
  t.equal(validateCapabilities({ name: 'mine', supports: 'function' }, 'mine.js', { allowFunction: true }).supports, 'function');
});

t.test('validateCapabilities lists every problem in one message', async (t) => {
  t.throws(
    () =>
      validateCapabilities(
        { name: '', layout: 'NWHC', filterLayout: 'IOHW', dtypes: ['float32', 'float32'], outputs: [], supports: { groupz: true, dilation: 'yes' } },
        'bad.js',
        { allowFunction: true },
      ),
    {
      code: 'E_ADAPTER_LOAD',
      message: [
        'adapter bad.js is malformed:',
        '  - name: expected a non-empty string, found ""',
        '  - layout: unknown activation layout "NWHC"; expected one of NCHW, NHWC',
        '  - filterLayout: unknown filter layout "IOHW"; expected one of OIHW, HWIO, OHWI',
        "  - dtypes[1]: 'float32' is listed twice",
        '  - outputs: expected a non-empty array of names from dx, dw, db, found []',
        '  - supports.groupz: unknown flag; expected one of groups, dilation, asymmetricPads',
        '  - supports.dilation: expected true or false, found "yes"',
      ].join('\n'),
    },
  );
  t.throws(() => validateCapabilities({ name: 'x', supports: 'function' }, 'cmd:x', { allowFunction: false }), {
    message: /supports: expected an object \{groups\?, dilation\?, asymmetricPads\?\} of booleans, found "function"/,
  });
});

t.test('inspectAdapterModule: default export (ESM) or module.exports (CJS), conv2dBackward required', async (t) => {
  const conv2dBackward = () => ({});
  const supports = () => true;
  const inspected = inspectAdapterModule({ default: { name: 'ok', conv2dBackward, supports } }, 'ok.mjs');
  t.equal(inspected.capabilities.supports, 'function');
  // export default compiled to CommonJS: module.exports = { __esModule: true, default: adapter }.
  const transpiled = inspectAdapterModule({ default: { __esModule: true, default: { name: 'compiled', conv2dBackward } } }, 'adapter.ts');
  t.equal(transpiled.capabilities.name, 'compiled');
  t.throws(() => inspectAdapterModule({ conv2dBackward, name: 'x' }, 'named.mjs'), {
    message: /no default export: .* found only named exports conv2dBackward, name/,
  });
  t.throws(() => inspectAdapterModule({}, 'empty.mjs'), { message: /no default export: .* found no exports/ });
  t.throws(() => inspectAdapterModule({ default: conv2dBackward }, 'fn.mjs'), { message: /default export: expected an adapter object .* found a function/ });
  t.throws(() => inspectAdapterModule({ default: { name: 'n', conv2dBackward: 3, init: 'soon' } }, 'bad.mjs'), {
    message: /conv2dBackward: expected a function \(request\) => \(\{ dx, dw, db \}\), found 3\n {2}- init: expected a function or nothing, found "soon"/,
  });
  t.throws(() => inspectAdapterModule({ default: { name: 'n', conv2dBackward, supports: 'function' } }, 'str.mjs'), {
    message: /supports: expected flags or a function, found the string 'function'/,
  });
});

function fixtureMeta(overrides: Partial<FixtureMeta> = {}): FixtureMeta {
  return {
    id: 'some-fixture',
    family: 'normal',
    dtype: 'float32',
    tags: ['plain'],
    params: { stride: [1, 1], dilation: [1, 1], pads: { top: 0, bottom: 0, left: 0, right: 0 }, groups: 1 },
    tolerance: {
      rule: 'bound',
      unitRoundoff: 2 ** -24,
      underflowSpacing: 2 ** -149,
      outputs: {
        dx: { accumulationLength: 4, magnitude: 'dx-magnitude' },
        dw: { accumulationLength: 4, magnitude: 'dw-magnitude' },
        db: { accumulationLength: 4, magnitude: 'db-magnitude' },
      },
    },
    ...overrides,
  } as FixtureMeta;
}

const allSupported: AdapterCapabilities = {
  name: 'a',
  layout: 'NCHW',
  filterLayout: 'OIHW',
  dtypes: ['float32'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],
};

t.test('unsupportedReason: dtype, then each flag', async (t) => {
  t.equal(unsupportedReason(allSupported, fixtureMeta()), null);
  t.equal(unsupportedReason(allSupported, fixtureMeta({ dtype: 'float16' })), 'unsupported: dtype float16 (the adapter declares float32)');
  const none = { ...allSupported, supports: { groups: false, dilation: false, asymmetricPads: false } };
  const base = fixtureMeta().params;
  t.equal(unsupportedReason(none, fixtureMeta({ params: { ...base, groups: 2 } })), 'unsupported: groups');
  t.equal(unsupportedReason(none, fixtureMeta({ params: { ...base, dilation: [1, 2] } })), 'unsupported: dilation');
  t.equal(unsupportedReason(none, fixtureMeta({ params: { ...base, pads: { top: 1, bottom: 0, left: 0, right: 0 } } })), 'unsupported: asymmetric pads');
  t.equal(unsupportedReason(none, fixtureMeta({ params: { ...base, pads: { top: 1, bottom: 1, left: 2, right: 2 } } })), null, 'symmetric pads are fine');
  t.equal(unsupportedReason({ ...allSupported, supports: 'function' }, fixtureMeta({ params: { ...base, groups: 2 } })), null, 'a function is asked elsewhere');
});

t.test('result checks name the output, what was expected and what was found', async (t) => {
  const expected = { dtype: 'float32' as const, shape: [1, 2, 2, 3], layout: 'NHWC' };
  const good = { dtype: 'float32', shape: [1, 2, 2, 3], data: new Float32Array(12) };
  t.equal(checkOutputTensor('dx', good, expected).data, good.data);
  const cases: [unknown, string][] = [
    [undefined, "dx: expected a tensor {dtype: 'float32', shape: [1, 2, 2, 3] (NHWC), data: Float32Array}, found undefined"],
    [new Float32Array(12), "dx: expected a tensor {dtype: 'float32', shape: [1, 2, 2, 3] (NHWC), data: Float32Array}, found Float32Array"],
    [{ ...good, dtype: 'float64' }, `dx.dtype: expected 'float32' (the fixture's dtype), found "float64"`],
    [{ ...good, shape: [1, 3, 2, 2] }, 'dx.shape: expected [1, 2, 2, 3] (NHWC), found [1, 3, 2, 2]'],
    [{ ...good, data: new Float64Array(12) }, 'dx.data: expected a Float32Array, found Float64Array'],
    [{ ...good, data: [1, 2] }, 'dx.data: expected a Float32Array, found an Array of 2 elements'],
    [{ ...good, data: new Float32Array(11) }, 'dx.data: expected 12 elements for shape [1, 2, 2, 3], found 11'],
  ];
  for (const [value, message] of cases) t.throws(() => checkOutputTensor('dx', value, expected), { code: 'E_ADAPTER_RESULT', message });
  t.throws(() => checkOutputTensor('db', { dtype: 'float16', shape: [2], data: new Float32Array(2) }, { dtype: 'float16', shape: [2], layout: '[Cout]' }), {
    message: 'db.data: expected a Uint16Array (float16 travels as raw binary16 bits), found Float32Array',
  });
  t.throws(() => checkBackwardResult({ dx: good }, { dx: expected, dw: expected }), {
    message: 'dw: missing from the result (the adapter declares outputs dx, dw); found keys ["dx"]',
  });
  t.throws(() => checkBackwardResult(null, { dx: expected }), { message: 'conv2dBackward returned null; expected an object {dx} of tensors' });
  t.same(checkBackwardResult({ dx: good, db: good }, { dx: expected }).notes, ['db returned but not declared in outputs: not scored']);
});

/** A fixture with one-element outputs: expected values and magnitudes given directly. */
function tinyFixture(rule: 'exact' | 'bound', expected: number[], magnitude: number[]): ExpectedGradients {
  const tensor = (values: number[]): Float64Tensor => ({ dtype: 'float64', shape: [values.length], data: Float64Array.from(values) });
  const meta = fixtureMeta({ tolerance: { ...fixtureMeta().tolerance, rule }, shapes: { x: [1, 1, 1, 1], w: [1, 1, 1, 1], dy: [1, 1, 1, 1], dx: [1, 1, 1, 1], dw: [1, 1, 1, 1], db: [1] } });
  const four = (values: number[]): Float64Tensor => ({ dtype: 'float64', shape: [1, 1, 1, values.length], data: Float64Array.from(values) });
  return {
    meta,
    dx: four(expected),
    dw: four(expected),
    db: tensor(expected),
    'dx-magnitude': four(magnitude),
    'dw-magnitude': four(magnitude),
    'db-magnitude': tensor(magnitude),
  };
}

const f32 = (values: number[], shape = [1, 1, 1, values.length]) => ({ dtype: 'float32' as const, shape, data: Float32Array.from(values) });

t.test('scoring: exact rule passes only bit-equal values (-0 == +0); NaN fails; grades', async (t) => {
  const exact = tinyFixture('exact', [0, 3], [0, 3]);
  const same = scoreFixture({ fixture: exact, outputs: { dx: f32([-0, 3]), dw: f32([0, 3]), db: f32([0, 3], [2]) }, declared: ['dx', 'dw', 'db'], seconds: 0.5 });
  t.equal(same.status, 'pass');
  t.equal(same.status === 'pass' && same.grade, 'exact');
  t.equal(same.status === 'pass' && same.seconds, 0.5);

  // One float32 ulp off at 3 (spacing 2^-22 there): well within any bound, but the rule is exact.
  const offByOne = scoreFixture({ fixture: exact, outputs: { dx: f32([0, 3 + 2 ** -22]), dw: f32([0, 3]), db: f32([0, 3], [2]) }, declared: ['dx', 'dw', 'db'], seconds: 0 });
  t.equal(offByOne.status, 'fail');
  t.same(offByOne.status === 'fail' && offByOne.failing, ['dx']);

  const bound = tinyFixture('bound', [0, 3], [0, 3]);
  const withinBound = scoreFixture({ fixture: bound, outputs: { dx: f32([0, 3 + 2 ** -22]), dw: f32([0, 3]), db: f32([0, 3], [2]) }, declared: ['dx', 'dw', 'db'], seconds: 0 });
  t.equal(withinBound.status, 'pass', 'one ulp at 3 is inside the bound gamma_4(2^-24)*3 + 2^-24*3 (about 8.9e-7 > 2^-22 = 2.4e-7)');
  t.not(withinBound.status === 'pass' && withinBound.grade, 'exact');

  const nan = scoreFixture({ fixture: bound, outputs: { dx: f32([0, NaN]), dw: f32([0, 3]), db: f32([0, 3], [2]) }, declared: ['dx', 'dw', 'db'], seconds: 0 });
  t.equal(nan.status, 'fail');
  const metrics = nan.status === 'fail' ? nan.outputs[0] : undefined;
  t.equal(metrics?.failingElements, 1);
  t.same(metrics?.worst?.index, [0, 0, 0, 1]);
  t.ok(Number.isNaN(metrics?.worst?.got));
});

t.test('scoring: outputs the adapter does not declare are not scored, and a note says so', async (t) => {
  const bound = tinyFixture('bound', [0, 3], [0, 3]);
  const outcome = scoreFixture({ fixture: bound, outputs: { dx: f32([0, 3]) }, declared: ['dx'], seconds: 0, notes: ['earlier note'] });
  t.equal(outcome.status, 'pass');
  t.same(outcome.status === 'pass' && outcome.outputs.map((metrics) => metrics.output), ['dx']);
  t.same(outcome.notes, ['earlier note', 'dw, db not scored: the adapter does not declare them in outputs']);
});
