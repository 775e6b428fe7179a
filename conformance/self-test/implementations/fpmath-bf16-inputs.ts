/**
 * fpmath-bf16-inputs: x, w and dy rounded to bfloat16 (8 significand bits, float32's
 * range, nearest even) before the products, which are then formed and summed in the
 * fixture's dtype in the shared kernel's scatter order, as bf16-input (autocast) paths do.
 * It declares precision { algorithm: 'direct', fpmath: 'bf16' }.
 */
import { fromFloat64Array, toFloat64Array } from '../../../src/dtype.js';
import type { Adapter, BackwardRequest, Tensor } from '../../../src/types.js';
import { kernelAdapter } from '../buggy-kernels.js';
import { roundToBfloat16 } from '../fast-rounding.js';

const direct = kernelAdapter('none', 'fpmath-bf16-inputs');

const roundInputs = (tensor: Tensor): Tensor => ({ ...tensor, data: fromFloat64Array(toFloat64Array(tensor.data, tensor.dtype).map(roundToBfloat16), tensor.dtype) });

const adapter: Adapter = {
  ...direct,
  name: 'fpmath-bf16-inputs',
  dtypes: ['float16', 'float32', 'float64', 'bfloat16'],
  precision: { algorithm: 'direct', fpmath: 'bf16' },
  conv2dBackward: (request: BackwardRequest) => direct.conv2dBackward({ ...request, x: roundInputs(request.x), w: roundInputs(request.w), dy: roundInputs(request.dy) }),
};

export default adapter;
