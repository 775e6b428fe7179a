/** Buggy on purpose (self-test): the shared kernel with the bug 'inputs-rounded-to-bfloat16' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('inputs-rounded-to-bfloat16', 'buggy-inputs-rounded-to-bfloat16');
