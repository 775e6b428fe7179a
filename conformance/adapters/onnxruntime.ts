/**
 * onnxruntime: an adapter on ONNX Runtime's CPU kernels (onnxruntime-node), as a
 * production implementation to score.
 *
 * It reuses the generator's witness (generator/witnesses/onnxruntime-witness.ts),
 * which builds one ONNX model per geometry: dx = ConvTranspose(dy, w) with the
 * output_padding that restores x's shape, dw = a grouped Conv with the batch and
 * channel axes exchanged, db = ReduceSum(dy). Models are cached; sessions run
 * single-threaded. The corpus layouts (NCHW / OIHW) are ONNX's own.
 *
 * The CPU provider has float32 kernels: float32 fixtures run as they are;
 * float16 fixtures run in float16 where ORT has native kernels and otherwise in
 * float32 on the exactly converted values, with results rounded back to float16.
 * float64 is not declared: the provider would compute it in float32.
 */
import { fromFloat64Array } from '../../src/dtype.js';
import type { Adapter, BackwardRequest, BackwardResult, Tensor } from '../../src/types.js';
import { OnnxruntimeWitness } from '../../generator/witnesses/onnxruntime-witness.js';

let witness: OnnxruntimeWitness | undefined;

function asTensor(values: Float64Array, dtype: Tensor['dtype'], shape: number[]): Tensor {
  return { dtype, shape: [...shape], data: fromFloat64Array(values, dtype) };
}

const adapter: Adapter = {
  name: 'onnxruntime',
  layout: 'NCHW',
  filterLayout: 'OIHW',
  dtypes: ['float16', 'float32'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],

  init() {
    witness = new OnnxruntimeWitness();
  },

  async dispose() {
    await witness?.dispose();
    witness = undefined;
  },

  async conv2dBackward({ x, w, dy, params }: BackwardRequest): Promise<BackwardResult> {
    witness ??= new OnnxruntimeWitness();
    const result = await witness.compute({ x, w, dy, params });
    return {
      dx: asTensor(result.dx, x.dtype, x.shape),
      dw: asTensor(result.dw, x.dtype, w.shape),
      db: asTensor(result.db, x.dtype, [w.shape[0]]),
    };
  },
};

export default adapter;
