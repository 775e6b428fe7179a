/**
 * Stand-ins for the generator tests:
 *  - oracleWitness: the float64 oracle backend (backends/oracle.ts) under another
 *    name (which decides which witness it stands for), with the last element of
 *    dw moved by `shift`, so a test can make it agree (0) or contradict (beyond any bound);
 *  - folderHashes: relative path -> sha256 of every file below a folder, to show
 *    that two folders hold the same bytes or that one did not change.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend, BackendRequest, BackendResult } from '../../backends/backend.js';
import { createOracleBackend } from '../../backends/oracle.js';
import { sha256Hex } from '../../src/hash.js';

export function oracleWitness(name: string, shift = 0): Backend {
  const oracle = createOracleBackend();
  return {
    name,
    version: 'test',
    dtypes: oracle.dtypes,
    async compute(request: BackendRequest): Promise<BackendResult> {
      const result = await oracle.compute(request);
      const dw = Float64Array.from(result.dw);
      dw[dw.length - 1] += shift;
      return { ...result, dw };
    },
    dispose: () => oracle.dispose(),
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
