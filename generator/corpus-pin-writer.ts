/**
 * After the generator writes the bundled corpus (fixtures/), it records that
 * corpus's version and digest in src/corpus-pin.ts (see src/corpus-pinning.ts),
 * adding the version to the released ones. Nothing in fixtures/ changes, so the
 * corpus still regenerates byte for byte.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../src/atomic-write.js';
import { CORPUS_PIN } from '../src/corpus-pin.js';
import { formatCorpusPinSource, type CorpusPin } from '../src/corpus-pinning.js';
import { bundledCorpusDir, packageRoot } from '../src/paths.js';
import type { Manifest } from '../src/types.js';

/** The pin for `manifest` as the bundled corpus, keeping the other released versions of `previous`. */
export function pinFor(manifest: Manifest, previous: CorpusPin = CORPUS_PIN): CorpusPin {
  return {
    bundled: { corpusVersion: manifest.corpusVersion, digest: manifest.digest, fixtureCount: manifest.fixtureCount },
    released: { ...previous.released, [manifest.corpusVersion]: manifest.digest },
  };
}

/**
 * Write src/corpus-pin.ts when `outDir` is the bundled corpus and the sources are
 * there (a checkout, not an installed package). Returns the file written, or null.
 */
export async function recordBundledCorpusPin(outDir: string, manifest: Manifest): Promise<string | null> {
  if (resolve(outDir) !== bundledCorpusDir()) return null;
  const file = join(packageRoot(), 'src', 'corpus-pin.ts');
  if (!existsSync(file)) return null;
  await writeFileAtomic(file, formatCorpusPinSource(pinFor(manifest)));
  return file;
}
