/** Buggy on purpose (self-test): the shared kernel with the bug 'dw-not-zeroed-between-calls' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dw-not-zeroed-between-calls', 'buggy-dw-not-zeroed-between-calls');
