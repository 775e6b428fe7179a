/** Buggy on purpose (self-test): the shared kernel with the bug 'dx-drops-partial-edge-windows' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dx-drops-partial-edge-windows', 'buggy-dx-drops-partial-edge-windows');
