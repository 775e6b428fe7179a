/** Buggy on purpose (self-test): the shared kernel with the bug 'subnormals-flushed' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('subnormals-flushed', 'buggy-subnormals-flushed');
