/** Buggy on purpose (self-test): the shared kernel with the bug 'dx-assigned-not-accumulated' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dx-assigned-not-accumulated', 'buggy-dx-assigned-not-accumulated');
