/** Buggy on purpose (self-test): the shared kernel with the bug 'large-kernel-dw-transposed' (see ../buggy-kernels.ts); the corpus's shapes cannot show it, --fuzz finds it. */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('large-kernel-dw-transposed', 'buggy-large-kernel-dw-transposed');
