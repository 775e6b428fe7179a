/** Buggy on purpose (self-test): the shared kernel with the bug 'float16-accumulation' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('float16-accumulation', 'buggy-float16-accumulation');
