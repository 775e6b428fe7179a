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
import { fromFloat64Array } from '../../src/dtype.js';
import type { Adapter, BackwardRequest, BackwardResult, Tensor } from '../../src/types.js';
import { createTfjsWitness, type TfjsWitness } from '../../generator/witnesses/tfjs-witness.js';

let witness: TfjsWitness | undefined;

function asTensor(values: Float64Array, like: Tensor['dtype'], shape: number[]): Tensor {
  return { dtype: like, shape: [...shape], data: fromFloat64Array(values, like) };
}

const adapter: Adapter = {
  name: 'tfjs',
  layout: 'NCHW',
  filterLayout: 'OIHW',
  dtypes: ['float16', 'float32'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],

  async init() {
    witness = await createTfjsWitness();
  },

  async dispose() {
    await witness?.dispose();
    witness = undefined;
  },

  async conv2dBackward({ x, w, dy, params }: BackwardRequest): Promise<BackwardResult> {
    witness ??= await createTfjsWitness();
    const result = await witness.compute({ x, w, dy, params });
    return {
      dx: asTensor(result.dx, x.dtype, x.shape),
      dw: asTensor(result.dw, x.dtype, w.shape),
      db: asTensor(result.db, x.dtype, [w.shape[0]]),
    };
  },
};

export default adapter;
