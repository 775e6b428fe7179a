/** The two witnesses every fixture must pass: onnxruntime-node and TensorFlow.js. */
import { OnnxruntimeWitness } from './onnxruntime-witness.js';
import { createTfjsWitness } from './tfjs-witness.js';
import type { Witness } from './witness.js';

export async function createWitnesses(): Promise<Witness[]> {
  return [new OnnxruntimeWitness(), await createTfjsWitness()];
}
