/** Buggy on purpose (self-test): the shared kernel with the bug 'nan-treated-as-zero' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('nan-treated-as-zero', 'buggy-nan-treated-as-zero');
