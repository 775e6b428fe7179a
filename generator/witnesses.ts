/**
 * The two witnesses every fixture must pass: the onnxruntime-node and TensorFlow.js
 * backends (backends/). Each loads its package here, so generation without one of
 * them installed stops with E_BACKEND_MISSING naming what to install.
 */
import type { Backend } from '../backends/backend.js';
import { createOnnxruntimeBackend } from '../backends/onnxruntime.js';
import { createTfjsBackend } from '../backends/tfjs.js';

export async function createWitnesses(): Promise<Backend[]> {
  return [await createOnnxruntimeBackend(), await createTfjsBackend()];
}
