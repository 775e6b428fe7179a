/**
 * The corpus the self-test tests run: the bundled one, or a freshly generated one
 * in a temporary folder (the same plan, witnessed by onnxruntime and TF.js CPU).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';

/**
 * The per-fixture timeout of the catalog runs. They judge verdicts, not speed: the slowest
 * fixture of any entry takes about 1.7 s at a load of 15 on 2 cores (Winograd F(2x2,3x3) on
 * realistic-long-accumulation), yet a run beside four builds once hit the 60 s default.
 * Five minutes keeps a loaded machine from turning a correct implementation into a timeout.
 */
export const SLOW_MACHINE_TIMEOUT_MS = 300_000;

export async function corpusDir(temporaryDir: () => string): Promise<string> {
  const bundled = bundledCorpusDir();
  if (existsSync(join(bundled, MANIFEST_FILE))) return bundled;
  const { generateCorpus } = await import('../../generator/generate.js');
  const { createOnnxruntimeBackend } = await import('../../backends/onnxruntime.js');
  const { createTfjsBackend } = await import('../../backends/tfjs.js');
  const outDir = join(temporaryDir(), 'corpus');
  const witnesses = [await createOnnxruntimeBackend(), await createTfjsBackend({ backend: 'cpu' })];
  try {
    await generateCorpus({ outDir, witnesses });
  } finally {
    for (const witness of witnesses) await witness.dispose();
  }
  return outDir;
}

