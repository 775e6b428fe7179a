/** Buggy on purpose (self-test): the shared kernel with the bug 'batch-remainder-dropped' (see ../buggy-kernels.ts); the corpus's shapes cannot show it, --fuzz finds it. */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('batch-remainder-dropped', 'buggy-batch-remainder-dropped');
