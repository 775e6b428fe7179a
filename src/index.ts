/**
 * conv2d-backward-conformance as a library: the contracts (an adapter's type
 * among them), conv geometry, the float64 oracle, the tolerance formula and the
 * comparison, .npy I/O, and reading and verifying a fixture corpus.
 *
 *   import type { Adapter } from 'conv2d-backward-conformance';
 *   import { conv2dBackward, loadFixture } from 'conv2d-backward-conformance';
 *
 * The runner is `conformance-runner` (or `conv2d-backward-conformance/runner`
 * for runConformance); the bundled corpus's path is
 * `conv2d-backward-conformance/fixtures`.
 */
export * from './types.js';
export { ConformanceError, isConformanceError, type ErrorCode } from './errors.js';
export {
  accumulationLengths,
  conv2dBackwardGeometry,
  conv2dGeometry,
  convOutputSize,
  effectiveKernelSize,
  resolvePadding,
  transposeOutputPadding,
  unreadTailSize,
  validateParams,
  type Conv2dGeometry,
} from './geometry.js';
export { conv2dBackward, conv2dBackwardMagnitude, conv2dForward } from './oracle/index.js';
export { boundCoefficients, coefficientsForDtype, elementBound, gamma, typicalError, type BoundCoefficients } from './tolerance.js';
export { combineGrades, compareOutput, type CompareInput } from './compare.js';
export { DTYPE_INFO, float16BitsToFloat64, float64ToFloat16Bits, roundToDtype, ulpDistance } from './dtype.js';
export { readNpy, readNpyFile, readNpyFileSync, readNpyHeader, writeNpy, type NpyHeader, type NpyReadOptions, type ReadNpyFileOptions } from './npy.js';
export { loadFixture, loadFixtureMeta, loadFixtureTensors, magnitudeTensorName, type FixtureTensors, type LoadedFixture } from './fixture-io.js';
export { checkCorpus, loadManifest, verifyCorpus, MANIFEST_FILE, type CorpusCheck, type CorpusProblem } from './manifest.js';
export { bundledCorpusDir, schemaDir } from './paths.js';
