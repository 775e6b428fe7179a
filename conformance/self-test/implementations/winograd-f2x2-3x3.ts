/**
 * winograd-f2x2-3x3: a correct Winograd F(2x2,3x3) Conv2d backward in the fixture's
 * dtype (../winograd-kernel.ts): dx by the forward algorithm on the padded dy with the
 * rotated kernel, dw by the transposed algorithm, db directly. It declares
 * precision { algorithm: 'winograd', tile: { output: 2, kernel: 3 } } and declines, per
 * fixture, anything but 3x3 kernels with stride 1 and dilation 1.
 */
import type { Adapter } from '../../../src/types.js';
import { winogradBackward, winogradSupport } from '../winograd-kernel.js';

const tile = { output: 2, kernel: 3 };

const adapter: Adapter = {
  name: 'winograd-f2x2-3x3',
  dtypes: ['float16', 'float32', 'float64', 'bfloat16'],
  supports: (meta) => winogradSupport(tile, meta),
  precision: { algorithm: 'winograd', tile, fpmath: 'strict' },
  conv2dBackward: (request) => winogradBackward(tile, request),
};

export default adapter;
