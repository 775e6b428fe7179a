/** Buggy on purpose (self-test): the shared kernel with the bug 'dilation-ignored-in-dw' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dilation-ignored-in-dw', 'buggy-dilation-ignored-in-dw');
