/** Buggy on purpose (self-test): the shared kernel with the bug 'group-offset-uses-out-channels' (see ../buggy-kernels.ts). */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('group-offset-uses-out-channels', 'buggy-group-offset-uses-out-channels');
