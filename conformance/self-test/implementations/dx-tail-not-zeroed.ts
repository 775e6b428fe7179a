/** Buggy on purpose (self-test): the shared kernel with the bug 'dx-tail-not-zeroed' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dx-tail-not-zeroed', 'buggy-dx-tail-not-zeroed');
