/**
 * Where the package lives on disk. Works from the TypeScript sources (src/) and
 * from the build (dist/src/): both are found by walking up to the package.json
 * whose name is this package's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConformanceError } from './errors.js';

export const PACKAGE_NAME = 'conv2d-backward-conformance';

let cachedRoot: string | undefined;

/** The folder holding this package's package.json. */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  const visited: string[] = [];
  let folder = start;
  for (;;) {
    visited.push(folder);
    const manifestPath = join(folder, 'package.json');
    if (existsSync(manifestPath) && readPackageName(manifestPath) === PACKAGE_NAME) {
      cachedRoot = folder;
      return folder;
    }
    const parent = dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  throw new ConformanceError(
    'E_FIXTURE',
    `package root not found: expected a package.json named "${PACKAGE_NAME}" in ${start} or one of its parents, found none (searched ${visited.length} folders)`,
    { start },
  );
}

function readPackageName(manifestPath: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    // A broken package.json of some other package on the way up is not ours; keep walking.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  return typeof parsed === 'object' && parsed !== null ? (parsed as { name?: unknown }).name : undefined;
}

/** The corpus shipped with the package: `<package root>/fixtures`. */
export function bundledCorpusDir(): string {
  return join(packageRoot(), 'fixtures');
}

/** The emitted JSON Schemas: `<package root>/schema`. */
export function schemaDir(): string {
  return join(packageRoot(), 'schema');
}
