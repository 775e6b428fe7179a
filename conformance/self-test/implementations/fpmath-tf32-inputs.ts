/**
 * fpmath-tf32-inputs: x, w and dy rounded to tf32 (11 significand bits, float32's
 * range, nearest even) before the products, which are then formed and summed in the
 * fixture's dtype in the shared kernel's scatter order, as TF32 tensor-core paths do.
 * It declares precision { algorithm: 'direct', fpmath: 'tf32' }.
 */
import { fromFloat64Array, toFloat64Array } from '../../../src/dtype.js';
import type { Adapter, BackwardRequest, Tensor } from '../../../src/types.js';
import { kernelAdapter } from '../buggy-kernels.js';
import { roundToTf32 } from '../winograd-kernel.js';

const direct = kernelAdapter('none', 'fpmath-tf32-inputs');

const roundInputs = (tensor: Tensor): Tensor => ({ ...tensor, data: fromFloat64Array(toFloat64Array(tensor.data, tensor.dtype).map(roundToTf32), tensor.dtype) });

const adapter: Adapter = {
  ...direct,
  name: 'fpmath-tf32-inputs',
  dtypes: ['float16', 'float32', 'float64'],
  precision: { algorithm: 'direct', fpmath: 'tf32' },
  conv2dBackward: (request: BackwardRequest) => direct.conv2dBackward({ ...request, x: roundInputs(request.x), w: roundInputs(request.w), dy: roundInputs(request.dy) }),
};

export default adapter;
