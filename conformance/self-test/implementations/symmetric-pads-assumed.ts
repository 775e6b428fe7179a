/** Buggy on purpose (self-test): the shared kernel with the bug 'symmetric-pads-assumed' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('symmetric-pads-assumed', 'buggy-symmetric-pads-assumed');
