/**
 * The corpus the self-test tests run: the bundled one, or a freshly generated one
 * in a temporary folder (the same plan, witnessed by onnxruntime and TF.js CPU).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';

/**
 * The per-fixture timeout of the catalog runs. They judge verdicts, not speed: the transform
 * implementations take up to ~20 s on a realistic layer on an idle machine (fft-radix2 on
 * realistic-3x3-c32-28x28), and Winograd once hit the 60 s default beside four builds.
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

