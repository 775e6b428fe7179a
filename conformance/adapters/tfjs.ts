/**
 * tfjs: an adapter on TensorFlow.js's own backprop kernels (Conv2DBackpropInput,
 * Conv2DBackpropFilter and a sum for db), as a production implementation to score.
 *
 * It reuses the generator's TF.js witness (generator/witnesses/tfjs-witness.ts):
 * @tensorflow/tfjs-node when it is installed, else @tensorflow/tfjs's CPU
 * kernels. Groups and dilation, which those kernels lack, are rewritten exactly
 * into plain convolutions by the witness; layouts are converted there too, so
 * this adapter declares the corpus layouts (NCHW / OIHW).
 *
 * TF.js computes in float32. float32 fixtures run as they are; float16 inputs
 * convert to float32 exactly and the results are rounded back to float16 (a
 * computation in higher precision, which the float16 bound admits). float64
 * is not declared: a float32 result cannot meet the float64 bound.
 */
import { createTfjsWitness } from '../../generator/witnesses/tfjs-witness.js';
import { witnessAdapter } from './witness-adapter.js';

export default witnessAdapter('tfjs', ['float16', 'float32'], createTfjsWitness);
