/** Buggy on purpose (self-test): the shared kernel with the bug 'dilation-ignored-in-dx' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dilation-ignored-in-dx', 'buggy-dilation-ignored-in-dx');
