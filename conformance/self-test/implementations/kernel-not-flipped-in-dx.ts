/** Buggy on purpose (self-test): the shared kernel with the bug 'kernel-not-flipped-in-dx' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('kernel-not-flipped-in-dx', 'buggy-kernel-not-flipped-in-dx');
