/**
 * The naive adapter's bfloat16 path: inputs widen exactly to float32, the float32
 * results are rounded once to bfloat16 (nearest even), and it declares bfloat16.
 */
import t from 'tap';
import naive from '../../conformance/adapters/naive.js';
import { fromFloat64Array, roundToDtype, toFloat64Array } from '../../src/dtype.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams, Tensor } from '../../src/types.js';

t.test('naive adapter computes bfloat16 fixtures as float32 on the widened inputs, rounded to bfloat16', async (t) => {
  t.ok(naive.dtypes?.includes('bfloat16'));
  const prng = new Prng(7);
  const params: Conv2dParams = { stride: [1, 1], dilation: [1, 1], pads: { top: 1, bottom: 1, left: 1, right: 1 }, groups: 1 };
  const shapes = { x: [2, 3, 5, 5], w: [4, 3, 3, 3], dy: [2, 4, 5, 5] };
  const values = (shape: number[]): Float64Array => Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => roundToDtype(prng.normal(), 'bfloat16'));
  const x = values(shapes.x);
  const w = values(shapes.w);
  const dy = values(shapes.dy);
  const bf16 = (data: Float64Array, shape: number[]): Tensor => ({ dtype: 'bfloat16', shape, data: fromFloat64Array(data, 'bfloat16') });
  const f32 = (data: Float64Array, shape: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(data) });
  const got = await naive.conv2dBackward({ x: bf16(x, shapes.x), w: bf16(w, shapes.w), dy: bf16(dy, shapes.dy), params, id: 'bf16' });
  const reference = await naive.conv2dBackward({ x: f32(x, shapes.x), w: f32(w, shapes.w), dy: f32(dy, shapes.dy), params, id: 'f32' });
  for (const name of ['dx', 'dw', 'db'] as const) {
    const tensor = got[name]!;
    t.equal(tensor.dtype, 'bfloat16', `${name} dtype`);
    t.ok(tensor.data instanceof Uint16Array, `${name} as bits`);
    const expected = Array.from(reference[name]!.data as Float32Array, (value) => roundToDtype(value, 'bfloat16'));
    t.same(Array.from(toFloat64Array(tensor.data, 'bfloat16')), expected, `${name} = float32 result rounded to bfloat16`);
  }
});
