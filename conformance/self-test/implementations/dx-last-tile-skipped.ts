/** Buggy on purpose (self-test): the shared kernel with the bug 'dx-last-tile-skipped' (see ../buggy-kernels.ts); the corpus's shapes cannot show it, --fuzz finds it. */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('dx-last-tile-skipped', 'buggy-dx-last-tile-skipped');
