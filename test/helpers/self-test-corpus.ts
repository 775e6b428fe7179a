/**
 * The corpus the self-test tests run: the bundled one, or a freshly generated one
 * in a temporary folder (the same plan, witnessed by onnxruntime and TF.js CPU).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';

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

