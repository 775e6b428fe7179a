/**
 * An adapter made from a compute backend (backends/): the bundled onnxruntime
 * and tfjs adapters are production backends scored by the suite. Backends take
 * the corpus layouts (NCHW / OIHW) and return float64 results; the adapter
 * rounds them to the fixture's dtype. The backend is created on init (or on
 * first use), which is when its optional package is loaded (E_BACKEND_MISSING
 * when it is not installed), and disposed on dispose.
 */
import { fromFloat64Array } from '../../src/dtype.js';
import type { Adapter, BackwardRequest, BackwardResult, Dtype, Tensor } from '../../src/types.js';
import type { Backend } from '../../backends/backend.js';

function asTensor(values: Float64Array, dtype: Dtype, shape: number[]): Tensor {
  return { dtype, shape: [...shape], data: fromFloat64Array(values, dtype) };
}

/**
 * @param dtypes what the backend's results meet (its module's constant, known before the backend is created)
 * @param createBackend loads the backend's package and creates it
 */
export function backendAdapter(name: string, dtypes: readonly Dtype[], createBackend: () => Promise<Backend>): Adapter {
  let backend: Backend | undefined;
  return {
    name,
    layout: 'NCHW',
    filterLayout: 'OIHW',
    dtypes: [...dtypes],
    supports: { groups: true, dilation: true, asymmetricPads: true },
    outputs: ['dx', 'dw', 'db'],

    async init() {
      backend = await createBackend();
    },

    async dispose() {
      await backend?.dispose();
      backend = undefined;
    },

    async conv2dBackward({ x, w, dy, params }: BackwardRequest): Promise<BackwardResult> {
      backend ??= await createBackend();
      const result = await backend.compute({ x, w, dy, params });
      return {
        dx: asTensor(result.dx, x.dtype, x.shape),
        dw: asTensor(result.dw, x.dtype, w.shape),
        db: asTensor(result.db, x.dtype, [w.shape[0]]),
      };
    },
  };
}
