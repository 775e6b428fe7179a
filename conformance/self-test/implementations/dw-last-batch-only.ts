/** Buggy on purpose (self-test): the shared kernel with the bug 'dw-last-batch-only' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dw-last-batch-only', 'buggy-dw-last-batch-only');
