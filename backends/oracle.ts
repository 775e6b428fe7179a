/**
 * The float64 oracle (src/oracle) as a backend: inputs decoded to float64, dx,
 * dw and db by the oracle's direct sums, computeDtype 'float64'. It needs no
 * optional package. The generator computes expected values with the oracle
 * itself; this backend serves tests and benchmarks that need a backend which
 * agrees with the oracle by construction.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toFloat64Array } from '../src/dtype.js';
import { packageRoot } from '../src/paths.js';
import { conv2dBackward } from '../src/oracle/index.js';
import { DTYPES, type Float64Tensor, type Tensor } from '../src/types.js';
import type { Backend, BackendRequest, BackendResult } from './backend.js';

/** The oracle ships in this package: its version is the package's. */
function packageVersion(): string {
  return String((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version);
}

function decode(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: [...tensor.shape], data: toFloat64Array(tensor.data, tensor.dtype) };
}

export function createOracleBackend(): Backend {
  return {
    name: 'float64-oracle',
    version: packageVersion(),
    dtypes: DTYPES,
    async compute({ x, w, dy, params }: BackendRequest): Promise<BackendResult> {
      const gradients = conv2dBackward(decode(x), decode(w), decode(dy), params);
      return { dx: gradients.dx.data, dw: gradients.dw.data, db: gradients.db.data, computeDtype: 'float64' };
    },
    async dispose() {},
  };
}
