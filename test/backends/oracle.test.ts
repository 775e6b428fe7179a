import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createOracleBackend } from '../../backends/oracle.js';
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { conv2dBackward } from '../../src/oracle/index.js';
import { packageRoot } from '../../src/paths.js';
import { Prng } from '../../src/prng.js';
import { DTYPES, type Float64Tensor, type Tensor } from '../../src/types.js';
import { randomConvCase } from '../helpers/random-conv.js';

const backend = createOracleBackend();

t.test('the oracle backend: every dtype, computed in float64, the package version', async (t) => {
  t.same(backend.dtypes, DTYPES);
  const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  t.equal(backend.version, manifest.version);
});

t.test('inputs in each dtype are decoded exactly and give the oracle of the stored values', async (t) => {
  const prng = new Prng(5);
  for (const dtype of DTYPES) {
    const convCase = randomConvCase(prng);
    const stored = (tensor: Float64Tensor): Tensor => ({ dtype, shape: tensor.shape, data: fromFloat64Array(tensor.data, dtype) });
    const request = { x: stored(convCase.x), w: stored(convCase.w), dy: stored(convCase.dy), params: convCase.params };
    // The values the backend must see: the stored ones, i.e. the inputs rounded to the dtype.
    const decoded = (tensor: Tensor): Float64Tensor => ({ dtype: 'float64', shape: tensor.shape, data: toFloat64Array(tensor.data, tensor.dtype) });
    const expected = conv2dBackward(decoded(request.x), decoded(request.w), decoded(request.dy), convCase.params);
    const result = await backend.compute(request);
    t.equal(result.computeDtype, 'float64', dtype);
    t.same([...result.dx], [...expected.dx.data], `${dtype} dx`);
    t.same([...result.dw], [...expected.dw.data], `${dtype} dw`);
    t.same([...result.db], [...expected.db.data], `${dtype} db`);
  }
  await backend.dispose();
});
