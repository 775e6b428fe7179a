/** Buggy on purpose (self-test): the shared kernel with the bug 'pads-off-by-one' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('pads-off-by-one', 'buggy-pads-off-by-one');
