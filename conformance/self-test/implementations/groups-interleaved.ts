/** Buggy on purpose (self-test): the shared kernel with the bug 'groups-interleaved' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('groups-interleaved', 'buggy-groups-interleaved');
