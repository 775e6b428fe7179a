/** Buggy on purpose (self-test): the shared kernel with the bug 'pads-swapped' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('pads-swapped', 'buggy-pads-swapped');
