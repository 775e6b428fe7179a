/**
 * The self-test catalog: implementations with a known verdict. Each buggy one
 * carries ONE realistic bug and must fail on the corpus; each correct one must
 * pass every fixture it declares. `npm run self-test` runs them all and shows
 * which fixtures catch which bug; test/conformance/self-test.test.ts asserts
 * the verdicts.
 *
 * `module` is relative to this folder, spelt with `.js` like an ESM import;
 * catalogModulePath() gives the file that exists on disk (compiled .js, or
 * the .ts source when running from source).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CatalogEntry {
  /** Unique, kebab-case; also the adapter's `name`. */
  name: string;
  /** The bug as it shows up in real code (or, for correct entries, what makes this one different). */
  description: string;
  /** What the corpus needs to catch it (for buggy entries). */
  caughtBy?: string;
  /**
   * For buggy entries: the likely cause (a signature id of conformance/diagnosis/signatures.ts)
   * that a run of this entry must rank first.
   */
  cause?: string;
  /** The corpus verdict: buggy entries fail it, except the fuzzOnly ones, whose bug the corpus's shapes cannot show. */
  expected: 'fail' | 'pass';
  /** A buggy entry that passes the corpus (expected 'pass') and that `--fuzz` must find. */
  fuzzOnly?: boolean;
  /** Adapter module, relative to this folder. */
  module: string;
}

const buggy = (name: string, description: string, caughtBy: string, cause?: string, fuzzOnly = false): CatalogEntry => ({
  name: `buggy-${name}`,
  description,
  caughtBy,
  ...(cause === undefined ? {} : { cause }),
  expected: fuzzOnly ? 'pass' : 'fail',
  ...(fuzzOnly ? { fuzzOnly: true } : {}),
  module: `./implementations/${name}.js`,
});

export const CATALOG: readonly CatalogEntry[] = [
  // Correct implementations: different summation orders, layouts and precisions.
  {
    name: 'naive-float32',
    description: 'the bundled README example: NCHW/OIHW scatter loops in float32',
    expected: 'pass',
    module: '../adapters/naive.js',
  },
  {
    name: 'tfjs',
    description: 'the bundled TF.js adapter (Conv2DBackpropInput/Filter kernels, float32)',
    expected: 'pass',
    module: '../adapters/tfjs.js',
  },
  {
    name: 'onnxruntime',
    description: 'the bundled onnxruntime-node adapter (ConvTranspose / swapped Conv / ReduceSum)',
    expected: 'pass',
    module: '../adapters/onnxruntime.js',
  },
  {
    name: 'correct-scatter-nchw',
    description: "the shared buggy-kernels kernel with no bug: scatter order, NCHW/OIHW, genuine float16/32/64 arithmetic",
    expected: 'pass',
    module: './implementations/correct-scatter-nchw.js',
  },
  {
    name: 'correct-gather-nhwc-reversed',
    description: 'gather form (one sum per output element), NHWC/HWIO, every sum in reverse order, float32/64',
    expected: 'pass',
    module: './implementations/correct-gather-nhwc-reversed.js',
  },
  {
    name: 'correct-float64-ohwi',
    description: 'float64 accumulation rounded once to the dtype, taps-outermost loops, NHWC/OHWI',
    expected: 'pass',
    module: './implementations/correct-float64-ohwi.js',
  },
  {
    name: 'correct-pairwise-nchw-hwio',
    description: 'pairwise (tree) summation in the dtype (genuine float16 included), NCHW/HWIO',
    expected: 'pass',
    module: './implementations/correct-pairwise-nchw-hwio.js',
  },
  // Correct implementations of other precision classes (src/precision-class.ts): judged by their class's bound.
  {
    name: 'winograd-f2x2-3x3',
    description: 'Winograd F(2x2,3x3) for dx (forward algorithm, rotated kernel) and dw (transposed algorithm) in the dtype; declares precision winograd; declines all but 3x3, stride 1, dilation 1',
    expected: 'pass',
    module: './implementations/winograd-f2x2-3x3.js',
  },
  {
    name: 'winograd-f4x4-3x3',
    description: 'Winograd F(4x4,3x3) (Lavin-Gray points 0, ±1, ±2, ∞; constants 1/6, 1/12, 1/24 rounded to the dtype) for dx and dw; declares precision winograd',
    expected: 'pass',
    module: './implementations/winograd-f4x4-3x3.js',
  },
  {
    name: 'fft-radix2',
    description: 'radix-2 complex FFTs (twiddles rounded to the dtype) for dx and dw per output plane, summed in the frequency domain, every operation in the dtype (float16 in float32); declares precision fft; declines the special family',
    expected: 'pass',
    module: './implementations/fft-radix2.js',
  },
  {
    name: 'fpmath-tf32-inputs',
    description: 'inputs rounded to tf32 before the products, accumulation in the dtype; declares fpmath tf32',
    expected: 'pass',
    module: './implementations/fpmath-tf32-inputs.js',
  },
  {
    name: 'fpmath-bf16-inputs',
    description: 'inputs rounded to bfloat16 before the products, accumulation in the dtype; declares fpmath bf16',
    expected: 'pass',
    module: './implementations/fpmath-bf16-inputs.js',
  },

  // Buggy implementations: one bug each (../self-test/buggy-kernels.ts names the deviation).
  buggy('strides-swapped', 'stride[0] used for the width and stride[1] for the height (a [SW, SH] vs [SH, SW] mix-up)', 'a stride with SH != SW', 'stride-axes-swapped'),
  buggy('dilation-ignored-in-dw', 'dw computed as if dilation were 1 (filter gradient written for the undilated case only)', 'dilation > 1', 'dilation-in-dw'),
  buggy('dilation-ignored-in-dx', 'dx computed as if dilation were 1 (input gradient written for the undilated case only)', 'dilation > 1', 'dilation-in-dx'),
  buggy('groups-interleaved', 'output channel o put in group o % G (channel-shuffle order) instead of the blocked floor(o / (Cout/G))', 'groups > 1 with Cout/G > 1', 'group-channel-order'),
  buggy('group-offset-uses-out-channels', "group g's first input channel taken as g*Cout/G instead of g*C/G", 'groups > 1 with Cout != C', 'group-input-offset'),
  buggy('pads-swapped', 'pads read in the wrong order: left used as top (e.g. [top, left, bottom, right] read as [left, top, ...])', 'top != left', 'pads-order'),
  buggy('symmetric-pads-assumed', 'output size recomputed with bottom = top, right = left: bottom/right pads ignored', 'asymmetric pads that change the output size', 'bottom-right-pads-ignored'),
  buggy('output-size-ceil', 'output size computed with ceil instead of floor (one extra row/column walked)', 'a stride that does not divide H + pads - E', 'output-size-rounding'),
  buggy('pads-off-by-one', 'a non-zero pad applied as pad - 1', 'pads > 0', 'pad-offset'),
  buggy('kernel-not-flipped-in-dx', 'dx computed as a correlation of dy with w instead of a convolution (kernel not rotated by 180 degrees)', 'a kernel larger than 1x1', 'kernel-flip-in-dx'),
  buggy('dw-kernel-transposed', 'dw stored at [kw, kh] (kernel rows and columns swapped)', 'a kernel larger than 1x1', 'dw-kernel-axes'),
  buggy('dx-assigned-not-accumulated', 'dx elements assigned (=) instead of accumulated (+=): overlapping contributions overwrite each other', 'overlapping windows or several output channels', 'dx-overwritten'),
  buggy('dx-drops-partial-edge-windows', 'dx ignores the windows that reach into the bottom/right padding', 'bottom/right pads reached by a window', 'dx-edge-windows'),
  buggy('dx-tail-not-zeroed', 'dx from a reused buffer, cleared only up to the last row/column a window reaches; the unread tail keeps stale values', 'input rows/columns no window reads (a tail)', 'dx-tail'),
  buggy('dw-last-batch-only', 'dw reset at each batch element, so only the last batch element is kept', 'batch > 1', 'dw-batch'),
  buggy('db-first-batch-only', 'db summed over the first batch element only', 'batch > 1', 'db-batch'),
  buggy('dw-not-zeroed-between-calls', 'dw accumulated into a cached buffer never cleared between calls', 'two fixtures with the same w size in one run', 'dw-state'),
  buggy('inputs-rounded-to-bfloat16', 'inputs rounded to bfloat16 before computing (a reduced-precision fast path)', 'inputs with more than 8 significant bits', 'inputs-low-precision'),
  buggy('float16-accumulation', 'products and sums rounded to float16 whatever the dtype', 'float32/float64 data needing more than 11 bits', 'accumulation-low-precision'),
  buggy('float64-computed-in-float32', 'float64 fixtures computed with float32 arithmetic', 'float64 fixtures', 'float64-as-float32'),
  buggy(
    'bfloat16-as-float16',
    'a 16-bit path written for float16 serves bfloat16: float32 inputs and results rounded to float16, results stored as float16 bits',
    'bfloat16 fixtures',
    'bfloat16-as-float16',
  ),
  buggy('nan-treated-as-zero', 'NaN inputs replaced by 0 (a `value || 0` default)', 'NaN inputs', 'nan-inputs'),
  buggy('infinity-saturated', 'infinite inputs clamped to the largest finite value (a saturating cast)', 'infinite inputs', 'infinite-inputs'),

  // Bugs only shapes beyond the corpus's show (its widest input is 32, largest kernel 5x4, largest batch 4):
  // each passes the whole corpus, and `--fuzz` finds it (test/conformance/fuzz-self-test.test.ts).
  buggy('dx-last-tile-skipped', 'dx in 32-wide column tiles counted with floor(W/32) for W > 32: the last, partial tile is never written', 'an input wider than 32 (not a multiple of 32): --fuzz only', undefined, true),
  buggy('large-kernel-dw-transposed', 'a separate path for kernels of 49 taps or more (7x7 and up) that writes dw at [kw, kh]', 'a kernel of 7x7 or larger: --fuzz only', undefined, true),
  buggy('batch-remainder-dropped', 'the batch loop unrolled by 4 for N > 4 without its remainder loop: images past floor(N/4)*4 are dropped', 'a batch of 5, 6 or 7: --fuzz only', undefined, true),
];

/**
 * Bugs the corpus is not expected to catch, kept runnable (`self-test --gaps`) so that a
 * corpus that starts catching one shows it. Each says why it slips through.
 */
export const CORPUS_GAPS: readonly CatalogEntry[] = [
  buggy(
    'subnormals-flushed',
    'subnormal inputs and results flushed to zero (FTZ/DAZ, as on many GPUs and fast-math builds). Not caught: no data family has values small enough for products or sums to be subnormal, and next to the bound (u*M) a flushed subnormal is invisible',
    'a family of tiny values (e.g. float32 data around 2^-70 so products are subnormal)',
  ),
  buggy(
    'padding-materialised',
    'x padded with explicit zeros and dw taking every tap: dy = ±Inf times a padding zero gives NaN. Not caught by design: the special family is generated only without padding, because whether 0*Inf enters the sum is an implementation choice the README allows',
    'special values together with padding (excluded on purpose)',
  ),
];

/** The file of an entry's module that exists on disk: compiled `.js`, else the `.ts` source. */
export function catalogModulePath(entry: CatalogEntry): string {
  const compiled = fileURLToPath(new URL(entry.module, import.meta.url));
  if (existsSync(compiled)) return compiled;
  const source = compiled.replace(/\.js$/, '.ts');
  return existsSync(source) ? source : compiled;
}
