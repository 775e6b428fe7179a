/** Buggy on purpose (self-test): the shared kernel with the bug 'padding-materialised' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('padding-materialised', 'buggy-padding-materialised');
