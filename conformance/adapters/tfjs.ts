/**
 * tfjs: an adapter on TensorFlow.js's own backprop kernels (Conv2DBackpropInput,
 * Conv2DBackpropFilter and a sum for db), as a production implementation to score.
 *
 * It is the TF.js backend (backends/tfjs.ts): @tensorflow/tfjs-node when it is installed, else @tensorflow/tfjs's CPU
 * kernels. Groups and dilation, which those kernels lack, are rewritten exactly
 * into plain convolutions by the backend; layouts are converted there too, so
 * this adapter declares the corpus layouts (NCHW / OIHW).
 *
 * TF.js computes in float32. float32 fixtures run as they are; float16 and bfloat16
 * inputs convert to float32 exactly and the results are rounded back to the 16-bit
 * dtype (a computation in higher precision, which its bound admits). float64
 * is not declared: a float32 result cannot meet the float64 bound.
 *
 * @tensorflow/tfjs is an optional peer dependency: without it, init() fails with
 * E_BACKEND_MISSING naming the `npm i` command (the runner exits 2).
 */
import { createTfjsBackend, TFJS_DTYPES } from '../../backends/tfjs.js';
import { backendAdapter } from './backend-adapter.js';

export default backendAdapter('tfjs', TFJS_DTYPES, () => createTfjsBackend());
