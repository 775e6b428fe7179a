/**
 * Buggy on purpose (self-test): the naive float32 kernel with a 16-bit path written for
 * float16 and reused for bfloat16. The bfloat16 inputs are widened to float32 correctly,
 * then rounded to float16 (to feed a half-precision kernel), and the float32 results are
 * rounded to float16 and stored as float16 bits in the bfloat16 outputs: the classic
 * mix-up of the two 2-byte float formats. float32 fixtures are computed correctly.
 */
import { float64ToFloat16Bits, roundToDtype, toFloat64Array } from '../../../src/dtype.js';
import type { Adapter, BackwardRequest, BackwardResult, Tensor } from '../../../src/types.js';
import naive from '../../adapters/naive.js';

/** bfloat16 bits -> float32 values (exact), then rounded to float16. */
function toHalfInputs(tensor: Tensor): Tensor {
  const values = toFloat64Array(tensor.data, 'bfloat16');
  // BUG bfloat16-as-float16: the 16-bit path rounds its float32 inputs to float16, not bfloat16.
  return { dtype: 'float32', shape: tensor.shape, data: Float32Array.from(values, (value) => roundToDtype(value, 'float16')) };
}

async function conv2dBackward(request: BackwardRequest): Promise<BackwardResult> {
  if (request.x.dtype !== 'bfloat16') return naive.conv2dBackward(request);
  const result = await naive.conv2dBackward({ ...request, x: toHalfInputs(request.x), w: toHalfInputs(request.w), dy: toHalfInputs(request.dy) });
  const outputs: BackwardResult = {};
  for (const name of ['dx', 'dw', 'db'] as const) {
    const tensor = result[name] as Tensor;
    // BUG bfloat16-as-float16: the results are rounded to float16 and stored as float16 bits.
    outputs[name] = { dtype: 'bfloat16', shape: tensor.shape, data: Uint16Array.from(tensor.data as Float32Array, (value) => float64ToFloat16Bits(value)) };
  }
  return outputs;
}

const adapter: Adapter = {
  ...naive,
  name: 'buggy-bfloat16-as-float16',
  dtypes: ['float32', 'bfloat16'],
  conv2dBackward,
};

export default adapter;
