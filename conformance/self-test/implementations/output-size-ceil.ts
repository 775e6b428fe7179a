/** Buggy on purpose (self-test): the shared kernel with the bug 'output-size-ceil' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('output-size-ceil', 'buggy-output-size-ceil');
