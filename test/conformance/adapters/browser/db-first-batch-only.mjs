// A deliberately wrong WGSL kernel: the docs example's db shader summing only batch 0.
import { DB_SHADER, dbAdapter } from '../../../../conformance/examples/webgpu-db-adapter.mjs';

const WRONG = DB_SHADER.replace('n < p.batch', 'n < 1u');
if (WRONG === DB_SHADER) throw new Error('the example shader no longer has the loop this test breaks');
export default dbAdapter(WRONG);
