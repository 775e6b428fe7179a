/**
 * fft-radix2: a correct Conv2d backward by radix-2 FFTs in the fixture's dtype
 * (../fft-kernel.ts): dx and dw per output plane in the frequency domain, db directly.
 * It declares precision { algorithm: 'fft' } and declines the special family.
 */
import type { Adapter } from '../../../src/types.js';
import { fftBackward, fftSupport } from '../fft-kernel.js';

const adapter: Adapter = {
  name: 'fft-radix2',
  dtypes: ['float16', 'float32', 'float64', 'bfloat16'],
  supports: (meta) => fftSupport(meta),
  precision: { algorithm: 'fft', fpmath: 'strict' },
  conv2dBackward: (request) => fftBackward(request),
};

export default adapter;
