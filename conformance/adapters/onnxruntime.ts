/**
 * onnxruntime: an adapter on ONNX Runtime's CPU kernels (onnxruntime-node), as a
 * production implementation to score.
 *
 * It is the onnxruntime backend (backends/onnxruntime.ts), which builds one ONNX model per geometry: dx = ConvTranspose(dy, w) with the
 * output_padding that restores x's shape, dw = a grouped Conv with the batch and
 * channel axes exchanged, db = ReduceSum(dy). Models are cached; sessions run
 * single-threaded. The corpus layouts (NCHW / OIHW) are ONNX's own.
 *
 * The CPU provider has float32 kernels: float32 fixtures run as they are;
 * float16 fixtures run in float16 where ORT has native kernels and otherwise in
 * float32 on the exactly converted values, with results rounded back to float16;
 * bfloat16 fixtures run in float32 (every bfloat16 value is a float32 value), the
 * results rounded once to bfloat16. float64 is not declared: the provider would compute it in float32.
 *
 * onnxruntime-node is an optional peer dependency: without it, init() fails with
 * E_BACKEND_MISSING naming the `npm i` command (the runner exits 2).
 */
import { createOnnxruntimeBackend, ONNXRUNTIME_DTYPES } from '../../backends/onnxruntime.js';
import { backendAdapter } from './backend-adapter.js';

export default backendAdapter('onnxruntime', ONNXRUNTIME_DTYPES, createOnnxruntimeBackend);
