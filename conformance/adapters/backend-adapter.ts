/**
 * An adapter made from one of the generator's witnesses (generator/witnesses/):
 * the bundled onnxruntime and tfjs adapters are production backends scored by the
 * suite, and the witnesses already drive those backends in the corpus layouts
 * (NCHW / OIHW) and return float64 results. The adapter rounds the results to the
 * fixture's dtype; the witness is created on init (or on first use) and disposed
 * on dispose.
 */
import { fromFloat64Array } from '../../src/dtype.js';
import type { Adapter, BackwardRequest, BackwardResult, Dtype, Tensor } from '../../src/types.js';
import type { Witness } from '../../generator/witnesses/witness.js';

function asTensor(values: Float64Array, dtype: Dtype, shape: number[]): Tensor {
  return { dtype, shape: [...shape], data: fromFloat64Array(values, dtype) };
}

export function witnessAdapter(name: string, dtypes: Dtype[], createWitness: () => Witness | Promise<Witness>): Adapter {
  let witness: Witness | undefined;
  return {
    name,
    layout: 'NCHW',
    filterLayout: 'OIHW',
    dtypes,
    supports: { groups: true, dilation: true, asymmetricPads: true },
    outputs: ['dx', 'dw', 'db'],

    async init() {
      witness = await createWitness();
    },

    async dispose() {
      await witness?.dispose();
      witness = undefined;
    },

    async conv2dBackward({ x, w, dy, params }: BackwardRequest): Promise<BackwardResult> {
      witness ??= await createWitness();
      const result = await witness.compute({ x, w, dy, params });
      return {
        dx: asTensor(result.dx, x.dtype, x.shape),
        dw: asTensor(result.dw, x.dtype, w.shape),
        db: asTensor(result.db, x.dtype, [w.shape[0]]),
      };
    },
  };
}
