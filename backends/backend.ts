/**
 * The one contract for a compute backend: something that computes dx, dw and db
 * of a Conv2d from x, w and dy in the corpus layouts (NCHW activations, OIHW
 * filters) and returns them as float64, and optionally the forward y = conv(x, w).
 *
 * The generator runs backends as witnesses (each fixture's oracle values must
 * agree with every witness within the bound of the precision it computed in);
 * the runner bundles them as adapters (conformance/adapters/backend-adapter.ts),
 * which round the float64 results to the fixture's dtype.
 *
 * Backends on optional packages (onnxruntime-node, @tensorflow/tfjs) load them
 * when they are created, never when their module is imported, and throw
 * E_BACKEND_MISSING naming what to install (./load-optional.ts).
 */
import type { Conv2dParams, Dtype, Tensor } from '../src/types.js';

export interface BackendRequest {
  /** Inputs in the fixture's dtype, NCHW / OIHW / NCHW. */
  x: Tensor;
  w: Tensor;
  dy: Tensor;
  params: Conv2dParams;
}

export interface BackendResult {
  /** Results decoded to float64, NCHW / OIHW / [Cout]. */
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
  /** The precision the backend computed in; an agreement bound uses its unit roundoff. */
  computeDtype: Dtype;
}

/** The forward's inputs: y = conv(x, w), no bias (the corpus's y, src/forward-expected.ts). */
export interface BackendForwardRequest {
  /** Inputs in the fixture's dtype, NCHW / OIHW. */
  x: Tensor;
  w: Tensor;
  params: Conv2dParams;
}

export interface BackendForwardResult {
  /** y decoded to float64, NCHW [N, Cout, OH, OW]. */
  y: Float64Array;
  /** The precision the backend computed in. */
  computeDtype: Dtype;
}

export interface Backend {
  /** Stable name, e.g. 'float64-oracle', 'onnxruntime-node', 'tfjs-cpu'. */
  readonly name: string;
  /** Version of the package that computes, e.g. '1.30.0'. */
  readonly version: string;
  /**
   * The fixture dtypes whose bound the results meet, i.e. what a bundled adapter
   * on this backend declares. compute() may accept other inputs too (the float32
   * backends take float64 inputs holding float32 values, as the generator's
   * witnesses) and then reports the precision it used in computeDtype.
   */
  readonly dtypes: readonly Dtype[];
  compute(request: BackendRequest): Promise<BackendResult>;
  /** The forward y = conv(x, w) (no bias), when the backend has one: the generator witnesses the corpus's y with it. */
  forward?(request: BackendForwardRequest): Promise<BackendForwardResult>;
  /** Release what the backend holds (sessions, tensors); compute() is not called afterwards. */
  dispose(): Promise<void>;
}
