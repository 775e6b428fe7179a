/**
 * correct-scatter-nchw: the shared kernel of ../buggy-kernels.ts without a bug. NCHW / OIHW,
 * the scatter form (the oracle's loop order), every product and sum rounded to the fixture's dtype.
 */
import { kernelAdapter } from '../buggy-kernels.js';

export default kernelAdapter('none', 'correct-scatter-nchw');
