/** Buggy on purpose (self-test): the shared kernel with the bug 'db-first-batch-only' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('db-first-batch-only', 'buggy-db-first-batch-only');
