/**
 * Stand-ins for the generator tests:
 *  - oracleWitness: a "witness" that computes with the float64 oracle (its name
 *    decides which backend it stands for), with the last element of dw moved by
 *    `shift`, so a test can make it agree (0) or contradict (beyond any bound);
 *  - folderHashes: relative path -> sha256 of every file below a folder, to show
 *    that two folders hold the same bytes or that one did not change.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Witness, WitnessRequest, WitnessResult } from '../../generator/witnesses/witness.js';
import { toFloat64Array } from '../../src/dtype.js';
import { sha256Hex } from '../../src/hash.js';
import { conv2dBackward } from '../../src/oracle/index.js';

export function oracleWitness(name: string, shift = 0): Witness {
  return {
    name,
    version: 'test',
    async compute(request: WitnessRequest): Promise<WitnessResult> {
      const decode = (tensor: WitnessRequest['x']) => ({ dtype: 'float64' as const, shape: tensor.shape, data: toFloat64Array(tensor.data, tensor.dtype) });
      const gradients = conv2dBackward(decode(request.x), decode(request.w), decode(request.dy), request.params);
      const dw = Float64Array.from(gradients.dw.data);
      dw[dw.length - 1] += shift;
      return { dx: gradients.dx.data, dw, db: gradients.db.data, computeDtype: 'float64' };
    },
    async dispose() {},
  };
}

export async function folderHashes(dir: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    hashes.set(path.slice(dir.length), sha256Hex(await readFile(path)));
  }
  return hashes;
}
