/**
 * A witness: an independent production backend that recomputes dx, dw and db
 * so that the oracle's expected values are checked before a fixture is written.
 */
import type { Conv2dParams, Dtype, Tensor } from '../../src/types.js';

export interface WitnessRequest {
  /** Inputs in the fixture's dtype, NCHW / OIHW. */
  x: Tensor;
  w: Tensor;
  dy: Tensor;
  params: Conv2dParams;
}

export interface WitnessResult {
  /** Results decoded to float64, NCHW / OIHW / [Cout]. */
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
  /** The precision the backend computed in; the agreement bound uses its unit roundoff. */
  computeDtype: Dtype;
}

export interface Witness {
  /** Stable name recorded in fixtures, e.g. 'onnxruntime-node' or 'tfjs-cpu'. */
  readonly name: string;
  /** Backend version, e.g. '1.30.0'. */
  readonly version: string;
  compute(request: WitnessRequest): Promise<WitnessResult>;
  dispose(): Promise<void>;
}
