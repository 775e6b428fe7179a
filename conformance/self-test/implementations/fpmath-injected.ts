/**
 * fpmath-injected: the fpmath-tf32/bf16-inputs implementation with one of the
 * shared kernel's bugs injected, to see which bugs a wider class bound still
 * catches. The bug and the mode come from the environment (the runner's adapter
 * process inherits it): INJECTED_BUG (a KERNEL_BUGS name, default 'none') and
 * INJECTED_FPMATH ('tf32' or 'bf16', default 'bf16'). Not a catalog entry; run it as
 *   INJECTED_BUG=pads-off-by-one conformance-runner --impl dist/conformance/self-test/implementations/fpmath-injected.js
 */
import { fromFloat64Array, toFloat64Array } from '../../../src/dtype.js';
import type { Adapter, BackwardRequest, Tensor } from '../../../src/types.js';
import { KERNEL_BUGS, kernelAdapter, type KernelBug } from '../buggy-kernels.js';
import { roundToBfloat16 } from '../fast-rounding.js';
import { roundToTf32 } from '../winograd-kernel.js';

const bugName = process.env.INJECTED_BUG ?? 'none';
if (!(bugName in KERNEL_BUGS)) throw new Error(`INJECTED_BUG: expected one of ${Object.keys(KERNEL_BUGS).join(', ')}, found ${bugName}`);
const fpmath = process.env.INJECTED_FPMATH ?? 'bf16';
if (fpmath !== 'tf32' && fpmath !== 'bf16') throw new Error(`INJECTED_FPMATH: expected tf32 or bf16, found ${fpmath}`);
const rounding = fpmath === 'tf32' ? roundToTf32 : roundToBfloat16;
const kernel = kernelAdapter(bugName as KernelBug, `fpmath-${fpmath}-${bugName}`);
const roundInputs = (tensor: Tensor): Tensor => ({ ...tensor, data: fromFloat64Array(toFloat64Array(tensor.data, tensor.dtype).map(rounding), tensor.dtype) });

const adapter: Adapter = {
  ...kernel,
  precision: { algorithm: 'direct', fpmath },
  conv2dBackward: (request: BackwardRequest) => kernel.conv2dBackward({ ...request, x: roundInputs(request.x), w: roundInputs(request.w), dy: roundInputs(request.dy) }),
};

export default adapter;
