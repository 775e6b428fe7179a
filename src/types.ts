/**
 * The contracts of the project: tensors, convolution parameters, fixtures,
 * manifests, adapters and outcomes. Everything else is written against these.
 */
import type { PrecisionClass } from './precision-class.js';

/**
 * Element types a fixture or an adapter can use. float16 travels as raw IEEE binary16 bits,
 * bfloat16 as its 16 bits (the top half of a float32).
 */
export type Dtype = 'float16' | 'float32' | 'float64' | 'bfloat16';
export const DTYPES: readonly Dtype[] = ['float16', 'float32', 'float64', 'bfloat16'];

export type TensorData = Float32Array | Float64Array | Uint16Array;

/** A dense row-major tensor. For float16 and bfloat16, `data` holds the 16-bit patterns. */
export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

/** A float64 tensor, the working type of the oracle. */
export interface Float64Tensor {
  dtype: 'float64';
  shape: number[];
  data: Float64Array;
}

/** Explicit zero padding added on each side of the input. */
export interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Conv2d parameters. Tensors are NCHW (x, dy, dx) and OIHW (w, dw):
 * x [N, C, H, W], w [Cout, C/groups, KH, KW], dy [N, Cout, OH, OW], db [Cout].
 * Pairs are [height, width].
 */
export interface Conv2dParams {
  stride: [number, number];
  dilation: [number, number];
  pads: Pads;
  groups: number;
}

/** How the pads were specified before they were resolved to explicit numbers. */
export type PaddingMode = 'EXPLICIT' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
export const PADDING_MODES: readonly PaddingMode[] = ['EXPLICIT', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/** Result of the backward pass: gradients of a scalar loss L with dy = dL/dy. */
export interface Conv2dGradients<T = Float64Tensor> {
  dx: T;
  dw: T;
  db: T;
}

export type InputName = 'x' | 'w' | 'dy';
export type OutputName = 'dx' | 'dw' | 'db';
export const INPUT_NAMES: readonly InputName[] = ['x', 'w', 'dy'];
export const OUTPUT_NAMES: readonly OutputName[] = ['dx', 'dw', 'db'];

/** The data families of the corpus; each fixture names one. */
export type DataFamily = 'exact' | 'normal' | 'wide' | 'cancel' | 'onehot-dy' | 'zeros' | 'special';
export const DATA_FAMILIES: readonly DataFamily[] = ['exact', 'normal', 'wide', 'cancel', 'onehot-dy', 'zeros', 'special'];

/** One file of a fixture folder, with its element type and checksum. */
export interface FixtureFile {
  path: string;
  dtype: Dtype;
  sha256: string;
}

/** What the tolerance rule needs for one output (see src/tolerance.ts). */
export interface OutputTolerance {
  /** Largest number of products summed into one element of this output. */
  accumulationLength: number;
  /** File (float64) with, per element, the sum of |products| that form it. */
  magnitude: string;
}

/**
 * How outputs are judged. `exact`: every partial sum is representable, so the
 * output must equal the expected value bit for bit (-0 equals +0). `bound`:
 * |got - expected| <= bound per element, the bound defined in src/tolerance.ts.
 */
export interface FixtureTolerance {
  rule: 'exact' | 'bound';
  unitRoundoff: number;
  underflowSpacing: number;
  outputs: Record<OutputName, OutputTolerance>;
}

/**
 * The forward output's expected values, for scoring an adapter's optional
 * conv2dForward: y = conv(x, w) (no bias), y[n, o, oh, ow] = sum over (c, kh, kw) of
 * x[n, g*C/groups + c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw] * w[o, c, kh, kw].
 * Computed in float64 from the fixture's (or fuzz case's) own x and w; judged by the
 * same rule and bound formula as the gradients (src/tolerance.ts).
 */
export interface ForwardExpectation {
  /** float64, NCHW [N, Cout, OH, OW]. */
  y: Float64Tensor;
  /** Per element, the sum of |products| that form it (conv(|x|, |w|)). */
  yMagnitude: Float64Tensor;
  /** 'exact' when every partial sum of y is representable in the dtype, else 'bound'. */
  rule: 'exact' | 'bound';
  /** Largest number of products summed into one element of y: (C/groups) * KH * KW. */
  accumulationLength: number;
}

/** fixture.json: everything needed to use one fixture folder without our code. */
export interface FixtureMeta {
  id: string;
  formatVersion: number;
  op: 'conv2d_backward';
  description: string;
  case: string;
  dtype: Dtype;
  family: DataFamily;
  seed: number;
  tags: string[];
  params: Conv2dParams;
  padding: { mode: PaddingMode };
  shapes: Record<InputName | OutputName, number[]>;
  /** x, w, dy in `dtype`; dx, dw, db and the magnitude files in float64. */
  files: Record<string, FixtureFile>;
  tolerance: FixtureTolerance;
  witnesses: { agreed: boolean; backends: string[] };
}

/** The tolerance numbers of y in forward.json: fixture.json's tolerance, with the one output y. */
export interface ForwardTolerance {
  /** 'exact' when every partial sum of y is representable in the fixture's dtype (proven per fixture), else 'bound'. */
  rule: 'exact' | 'bound';
  unitRoundoff: number;
  underflowSpacing: number;
  outputs: { y: { accumulationLength: number; magnitude: 'y-magnitude' } };
}

/**
 * forward.json (corpus 1.2.0 and later), beside fixture.json in a fixture folder: the
 * expected forward output y = conv(x, w) (no bias) of the fixture's own x and w, in
 * y.npy, with its magnitude conv(|x|, |w|) in y-magnitude.npy (both float64, NCHW).
 * fixture.json does not mention it: a folder without it is a fixture without y.
 */
export interface ForwardMeta {
  /** The fixture's id (its folder name). */
  id: string;
  formatVersion: number;
  op: 'conv2d_forward';
  description: string;
  /** y's shape, [N, Cout, OH, OW] (fixture.json's shapes.dy). */
  shape: number[];
  files: { y: FixtureFile; 'y-magnitude': FixtureFile };
  tolerance: ForwardTolerance;
  /** The backends whose forward agreed with y within the bound of the precision they computed in. */
  witnesses: { agreed: boolean; backends: string[] };
}

/** One fixture in the manifest. */
export interface ManifestEntry {
  id: string;
  path: string;
  family: DataFamily;
  dtype: Dtype;
  tags: string[];
  /** File name inside the folder -> sha256, fixture.json included. */
  files: Record<string, string>;
}

/** fixtures/manifest.json */
export interface Manifest {
  corpusVersion: string;
  formatVersion: number;
  generator: { name: string; version: string };
  fixtureCount: number;
  /** sha256 over the lines `<path>/<file> <sha256>\n` of every fixture file, sorted by path. */
  digest: string;
  fixtures: ManifestEntry[];
}

// ---------------------------------------------------------------------------
// Adapters: what a user implements to be scored.

export type ActivationLayout = 'NCHW' | 'NHWC';
export type FilterLayout = 'OIHW' | 'HWIO' | 'OHWI';
export const ACTIVATION_LAYOUTS: readonly ActivationLayout[] = ['NCHW', 'NHWC'];
export const FILTER_LAYOUTS: readonly FilterLayout[] = ['OIHW', 'HWIO', 'OHWI'];

export interface SupportFlags {
  groups?: boolean;
  dilation?: boolean;
  asymmetricPads?: boolean;
}

/** true: supported; a string: the reason it is not. */
export type SupportsFunction = (fixture: FixtureMeta) => true | string | false;

/** The request handed to an adapter for one fixture (tensors in the adapter's layouts). */
export interface BackwardRequest {
  x: Tensor;
  w: Tensor;
  dy: Tensor;
  params: Conv2dParams;
  id: string;
}

export type BackwardResult = Partial<Record<OutputName, Tensor>>;

/**
 * The request handed to an adapter's optional forward: y = conv(x, w) + b, tensors in the
 * adapter's layouts (y in x's layout); b [Cout] in the fixture's dtype, absent for no bias.
 */
export interface ForwardRequest {
  x: Tensor;
  w: Tensor;
  b?: Tensor;
  params: Conv2dParams;
  id: string;
}

/** What conv2dForward returns: y [N, Cout, OH, OW] (or NHWC) in the fixture's dtype. */
export interface ForwardResult {
  y: Tensor;
}

/** The module an implementation exports (ESM default export or CommonJS module.exports). */
export interface Adapter {
  name: string;
  layout?: ActivationLayout;
  filterLayout?: FilterLayout;
  dtypes?: Dtype[];
  supports?: SupportFlags | SupportsFunction;
  outputs?: OutputName[];
  /** How it computes (default { algorithm: 'direct', fpmath: 'strict' }); judged by that class's bound. */
  precision?: PrecisionClass;
  init?(): void | Promise<void>;
  dispose?(): void | Promise<void>;
  conv2dBackward(request: BackwardRequest): BackwardResult | Promise<BackwardResult>;
  /** Optional: the forward the backward belongs to; y is scored against the corpus, and --gradcheck checks the backward against it. */
  conv2dForward?(request: ForwardRequest): ForwardResult | Promise<ForwardResult>;
}

/** The adapter's declared capabilities with defaults filled in (serialisable). */
export interface AdapterCapabilities {
  name: string;
  layout: ActivationLayout;
  filterLayout: FilterLayout;
  dtypes: Dtype[];
  supports: Required<SupportFlags> | 'function';
  outputs: OutputName[];
  /** How the adapter computes, when it declares it (absent: direct, strict). */
  precision?: PrecisionClass;
  /** true when the adapter has a forward (conv2dForward, or a cmd: program's "forward": true); absent: none. */
  forward?: boolean;
}

// ---------------------------------------------------------------------------
// Scoring.

export type PassGrade = 'exact' | 'tight' | 'within-bound';

/** What is scored against expected values: the gradients, and y when the adapter has a forward. */
export type ScoredName = OutputName | 'y';
/** What can fail a fixture: a scored output, or --gradcheck's checks. */
export type FailingName = ScoredName | 'gradcheck';

/** Comparison data for one output; the harness judges from it. */
export interface OutputMetrics {
  output: ScoredName;
  elements: number;
  failingElements: number;
  /** max |got - expected| / bound over the elements (0 when every bound is 0 and all match). */
  maxErrorInBounds: number;
  /** max |got - expected| / typical error (sqrt(k) model). */
  maxErrorInTypical: number;
  maxUlp: number;
  maxAbsError: number;
  maxRelError: number;
  worst: WorstElement | null;
  grade: PassGrade | null;
}

export interface WorstElement {
  index: number[];
  flatIndex: number;
  expected: number;
  got: number;
  bound: number;
}

interface OutcomeBase {
  id: string;
  family: DataFamily;
  dtype: Dtype;
  tags: string[];
  /** Remarks that do not change the status (an output not scored, an adapter that wrote into its inputs). */
  notes?: string[];
  /** The precision class the outputs were judged under, when the adapter declared one (src/precision-class.ts). */
  precision?: PrecisionClass;
  /** --gradcheck: the adapter's backward checked against its own forward (conformance/gradcheck-run.ts). */
  gradcheck?: GradcheckSummary;
}

/** One check of --gradcheck (src/gradcheck.ts GradcheckOutcome). */
export type GradcheckCheck =
  | { name: string; status: 'pass' | 'fail'; left: number; right: number; difference: number; bound: number }
  | { name: string; status: 'skipped'; reason: string };

/** --gradcheck on one fixture: the dtype it ran in, the steps, and every check. */
export interface GradcheckSummary {
  status: 'pass' | 'fail' | 'skipped';
  /** The dtype the forward and backward were called in (float64 when the adapter declares it). */
  dtype: Dtype;
  /** How the steps of the differences were chosen, and the cost (forward calls). */
  method: string;
  forwardCalls: number;
  checks: GradcheckCheck[];
  /** Why nothing was checked (status 'skipped'), or why a call failed. */
  reason?: string;
}

export type Outcome =
  | (OutcomeBase & { status: 'pass'; grade: PassGrade; outputs: OutputMetrics[]; seconds: number })
  | (OutcomeBase & { status: 'fail'; failing: FailingName[]; outputs: OutputMetrics[]; seconds: number })
  | (OutcomeBase & { status: 'error'; message: string; detail?: string })
  | (OutcomeBase & { status: 'timeout'; timeoutMs: number })
  | (OutcomeBase & { status: 'skipped'; reason: string })
  | (OutcomeBase & { status: 'missing'; message: string });

export type OutcomeStatus = Outcome['status'];
