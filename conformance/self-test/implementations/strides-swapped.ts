/** Buggy on purpose (self-test): the shared kernel with the bug 'strides-swapped' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('strides-swapped', 'buggy-strides-swapped');
