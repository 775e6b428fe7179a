/** Buggy on purpose (self-test): the shared kernel with the bug 'float64-computed-in-float32' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('float64-computed-in-float32', 'buggy-float64-computed-in-float32');
