/**
 * The likely causes a failing run can point to, as data, in one place. There is
 * one signature per bug of the self-test catalog: conformance/self-test/catalog.ts
 * records for each buggy entry the cause that must be named first, and
 * test/conformance/self-test.test.ts checks that it is, on the catalog's runs.
 *
 * A signature says which outputs fail and where: the failing fixtures carry one of
 * the `failsOn` features (any fixture when absent) and all of `requires`; the
 * fixtures with a `passesOn` feature pass. Features are a fixture's tags,
 * `family:<family>` and `dtype:<dtype>`. The signatures were read off the
 * self-test matrix (`npm run self-test --all-tags`); ./rank.ts scores them.
 */
import type { OutputName } from '../../src/types.js';

export interface CauseSignature {
  /** kebab-case, unique. */
  id: string;
  /** The cause in words, as printed. */
  title: string;
  /** Where to look in the implementation. */
  hint: string;
  /** The outputs the cause breaks. */
  outputs: OutputName[];
  /** The failing fixtures carry at least one of these features. */
  failsOn?: string[];
  /** ... and every one of these. */
  requires?: string[];
  /** Fixtures with any of these features pass. */
  passesOn?: string[];
}

const ALL: OutputName[] = ['dx', 'dw', 'db'];

export const CAUSE_SIGNATURES: readonly CauseSignature[] = [
  {
    id: 'stride-axes-swapped',
    title: 'stride height and width swapped',
    hint: 'the [SH, SW] order where the stride is read (dx and dw fail only when SH != SW)',
    outputs: ['dx', 'dw'],
    failsOn: ['stride-per-axis'],
  },
  {
    id: 'dilation-in-dw',
    title: 'dilation ignored in dw',
    hint: 'the x index of the filter gradient: ih = oh*SH + kh*DH - top (only dw fails, only on dilated fixtures)',
    outputs: ['dw'],
    failsOn: ['dilated'],
  },
  {
    id: 'dilation-in-dx',
    title: 'dilation ignored in dx',
    hint: 'the dx index of the input gradient: ih = oh*SH + kh*DH - top (only dx fails, only on dilated fixtures)',
    outputs: ['dx'],
    failsOn: ['dilated'],
  },
  {
    id: 'group-channel-order',
    title: 'output channels assigned to groups in the wrong order',
    hint: 'group of output channel o: floor(o / (Cout/G)) (blocked), not o % G (interleaved)',
    outputs: ['dx', 'dw'],
    failsOn: ['grouped', 'depthwise'],
    passesOn: ['channel-multiplier-1'],
  },
  {
    id: 'group-input-offset',
    title: "wrong first input channel of a group",
    hint: "group g's input channels start at g*C/G (input channels), not g*Cout/G (fails only when Cout != C)",
    outputs: ['dx', 'dw'],
    failsOn: ['grouped', 'depthwise'],
    requires: ['channels-differ'],
  },
  {
    id: 'pads-order',
    title: 'pads read in the wrong order (top and left swapped)',
    hint: 'the order of the pads array: [top, left, bottom, right] vs [top, bottom, left, right] (fails when top != left)',
    outputs: ['dx', 'dw'],
    failsOn: ['padded'],
    passesOn: ['pads-symmetric', 'pad-bottom-only', 'pad-right-only'],
  },
  {
    id: 'bottom-right-pads-ignored',
    title: 'bottom/right pads ignored (symmetric pads assumed)',
    hint: 'the output size: OH = floor((H + top + bottom - E) / SH) + 1 with both pads (db fails too: the output size is wrong)',
    outputs: ALL,
    failsOn: ['pads-asymmetric'],
  },
  {
    id: 'output-size-rounding',
    title: 'output size rounded up instead of down',
    hint: 'OH = floor((H + pads - E) / SH) + 1, not ceil (fails on strided fixtures where the stride does not divide)',
    outputs: ALL,
    failsOn: ['strided'],
  },
  {
    id: 'pad-offset',
    title: 'pads applied off by one',
    hint: 'the pad term of the input index: ih = oh*SH + kh*DH - top (fails on padded fixtures, dx and dw)',
    outputs: ['dx', 'dw'],
    failsOn: ['padded'],
  },
  {
    id: 'kernel-flip-in-dx',
    title: 'kernel not flipped in dx (correlation instead of convolution)',
    hint: 'dx[n, c, ih, iw] += dy[n, o, oh, ow] * w[o, c, kh, kw] with ih = oh*SH + kh*DH - top: the kernel is rotated by 180 degrees relative to a correlation of dy',
    outputs: ['dx'],
    passesOn: ['pointwise', 'input-1x1'],
  },
  {
    id: 'dw-kernel-axes',
    title: 'dw kernel rows and columns swapped',
    hint: 'where dw is stored: [o, i, kh, kw], not [o, i, kw, kh] (a 1x1 or one-wide kernel passes)',
    outputs: ['dw'],
    passesOn: ['pointwise', 'kernel-one-wide', 'input-1x1'],
  },
  {
    id: 'dx-overwritten',
    title: 'dx assigned instead of accumulated',
    hint: 'dx elements must be summed over every window and output channel (+=, not =)',
    outputs: ['dx'],
  },
  {
    id: 'dx-edge-windows',
    title: 'dx drops windows that reach into the padding',
    hint: 'the loop bounds of dx: windows partly in the bottom/right padding still contribute to the rows and columns they cover',
    outputs: ['dx'],
    failsOn: ['padded'],
  },
  {
    id: 'dx-tail',
    title: 'dx not cleared where no window reads (unread tail)',
    hint: 'zero the whole dx, including the last rows/columns no window reaches',
    outputs: ['dx'],
    failsOn: ['unread-tail'],
  },
  {
    id: 'dw-batch',
    title: 'dw not summed over the batch',
    hint: 'dw sums over every batch element n; it must not be reset inside the batch loop',
    outputs: ['dw'],
    failsOn: ['batch-gt-1'],
  },
  {
    id: 'db-batch',
    title: 'db not summed over the batch',
    hint: 'db[o] sums dy over n, oh and ow: every batch element',
    outputs: ['db'],
    failsOn: ['batch-gt-1'],
  },
  {
    id: 'dw-state',
    title: 'dw keeps state between calls',
    hint: 'a cached or reused dw buffer that is not cleared at each call (run with --repeat 2 to confirm)',
    outputs: ['dw'],
  },
  {
    id: 'inputs-low-precision',
    title: 'inputs rounded to a lower precision before computing',
    hint: 'a fast path that converts x, w or dy to bfloat16 / float16 (every dtype fails, exactly representable data passes)',
    outputs: ALL,
    passesOn: ['family:exact', 'family:zeros'],
  },
  {
    id: 'accumulation-low-precision',
    title: 'sums accumulated in a lower precision than the dtype',
    hint: 'the accumulator type: float32 data summed in float16 (float16 fixtures pass, exact data passes)',
    outputs: ALL,
    passesOn: ['family:exact', 'family:zeros', 'dtype:float16'],
  },
  {
    id: 'float64-as-float32',
    title: 'float64 computed in float32',
    hint: 'the float64 path: buffers or arithmetic in float32 (only float64 fixtures fail)',
    outputs: ALL,
    failsOn: ['dtype:float64'],
    passesOn: ['family:exact'],
  },
  {
    id: 'bfloat16-as-float16',
    title: 'bfloat16 handled as float16',
    hint: 'the 16-bit conversions: bfloat16 is the top half of a float32 (8 exponent bits, 7 fraction bits), not IEEE binary16 (only bfloat16 fixtures fail, exact ones too)',
    outputs: ALL,
    failsOn: ['dtype:bfloat16'],
  },
  {
    id: 'nan-inputs',
    title: 'NaN inputs not propagated',
    hint: 'a `value || 0`-style default or a NaN-dropping max/min: NaN in x or dy must reach the outputs',
    outputs: ALL,
    failsOn: ['nan-x', 'nan-dy'],
  },
  {
    id: 'infinite-inputs',
    title: 'infinite inputs not propagated',
    hint: 'a saturating cast or clamp: ±Infinity in x or dy must reach the outputs',
    outputs: ALL,
    failsOn: ['inf-x', 'inf-dy'],
  },
];
