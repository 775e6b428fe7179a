/** Buggy on purpose (self-test): the shared kernel with the bug 'infinity-saturated' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('infinity-saturated', 'buggy-infinity-saturated');
