/** Buggy on purpose (self-test): the shared kernel with the bug 'dw-kernel-transposed' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dw-kernel-transposed', 'buggy-dw-kernel-transposed');
