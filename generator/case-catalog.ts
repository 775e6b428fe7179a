/**
 * The case catalog: one place to read what the corpus covers.
 *
 * Each case is a convolution geometry (shapes, stride, dilation, padding, groups)
 * and the data families and dtypes it is generated with. Every case breaks
 * symmetry where it can (H != W, KH != KW, per-axis strides and dilations, four
 * different pads, Cin != Cout, N > 1), because a symmetric case hides a swapped axis.
 * The geometric tags of a fixture are derived from its geometry (generator/case-tags.ts),
 * never typed by hand, so the coverage test checks real shapes.
 */
import type { DataFamily, Dtype, PaddingMode, Pads } from '../src/types.js';

export interface CaseSpec {
  name: string;
  description: string;
  /** x shape [N, C, H, W]. */
  x: [number, number, number, number];
  /** Filter [Cout, KH, KW]; its input-channel size is C / groups. */
  filter: [number, number, number];
  stride?: [number, number];
  dilation?: [number, number];
  /** Explicit pads, or an auto padding mode resolved by src/geometry.ts. */
  padding?: Pads | Exclude<PaddingMode, 'EXPLICIT'>;
  groups?: number;
  /** Tags that the geometry cannot tell (e.g. 'realistic'). */
  tags?: string[];
  /** Data families beyond the default ones (DEFAULT_FAMILIES). */
  extraFamilies?: DataFamily[];
  /** Replace the default families entirely (for the large layers). */
  families?: DataFamily[];
  /** Also generate float64, float16 and bfloat16 fixtures (exact and normal data). */
  allPrecisions?: boolean;
}

/** Every case gets these families in float32. */
export const DEFAULT_FAMILIES: DataFamily[] = ['exact', 'normal', 'onehot-dy'];
/** Families generated in float64, float16 and bfloat16 for cases with allPrecisions. */
export const PRECISION_FAMILIES: DataFamily[] = ['exact', 'normal'];
/** bfloat16 since corpus 1.1.0 (its fixtures are new ids: the earlier ones keep their seeds and bytes). */
export const PRECISION_DTYPES: Dtype[] = ['float64', 'float16', 'bfloat16'];

const pads = (top: number, bottom: number, left: number, right: number): Pads => ({ top, bottom, left, right });
const MORE: DataFamily[] = ['wide', 'cancel'];
const WITH_ZEROS: DataFamily[] = ['wide', 'cancel', 'zeros'];
/** `special` needs stride 1, dilation 1 and no padding (see src/data-families.ts). */
const ALL_EXTRA: DataFamily[] = ['wide', 'cancel', 'zeros', 'special'];

export const CASE_CATALOG: CaseSpec[] = [
  // --- basics -------------------------------------------------------------
  { name: 'basic-3x3-pad1', description: '3x3 filter, padding 1 on every side, stride 1', x: [2, 3, 7, 6], filter: [4, 3, 3], padding: pads(1, 1, 1, 1), extraFamilies: WITH_ZEROS, allPrecisions: true },
  { name: 'basic-3x3-valid-batch1', description: '3x3 filter, no padding, one image', x: [1, 3, 6, 8], filter: [2, 3, 3], extraFamilies: ALL_EXTRA, allPrecisions: true },
  { name: 'pointwise-1x1', description: '1x1 filter, stride 1', x: [2, 5, 6, 7], filter: [3, 1, 1], extraFamilies: ALL_EXTRA, allPrecisions: true },
  { name: 'pointwise-1x1-stride2', description: '1x1 filter with stride 2: every other row and column is never read', x: [2, 4, 7, 8], filter: [6, 1, 1], stride: [2, 2], extraFamilies: MORE, allPrecisions: true },
  { name: 'pointwise-1x1-padded', description: '1x1 filter with padding: the border outputs see only padding', x: [1, 3, 5, 4], filter: [2, 1, 1], padding: pads(1, 2, 0, 1), extraFamilies: MORE, allPrecisions: true },
  { name: 'kernel-1x3', description: 'a 1x3 filter (width only)', x: [2, 3, 5, 8], filter: [4, 1, 3], padding: pads(0, 0, 1, 1), extraFamilies: WITH_ZEROS },
  { name: 'kernel-3x1', description: 'a 3x1 filter (height only)', x: [2, 3, 8, 5], filter: [4, 3, 1], padding: pads(1, 1, 0, 0), extraFamilies: MORE },
  { name: 'kernel-2x3', description: 'a 2x3 filter with asymmetric padding', x: [2, 3, 6, 7], filter: [5, 2, 3], padding: pads(1, 0, 1, 1), extraFamilies: MORE, allPrecisions: true },
  { name: 'kernel-3x2-unpadded', description: 'a 3x2 filter, no padding', x: [2, 2, 7, 5], filter: [3, 3, 2], extraFamilies: ALL_EXTRA },
  { name: 'kernel-5x4', description: 'a 5x4 filter with padding 2/1', x: [1, 2, 9, 8], filter: [3, 5, 4], padding: pads(2, 2, 1, 2), extraFamilies: MORE },

  // --- strides ------------------------------------------------------------
  { name: 'stride-2', description: 'stride 2 on both axes, 3x3, padding 1', x: [2, 3, 9, 8], filter: [4, 3, 3], stride: [2, 2], padding: pads(1, 1, 1, 1), extraFamilies: MORE, allPrecisions: true },
  { name: 'stride-3', description: 'stride 3 on both axes, 3x3, no padding', x: [1, 3, 10, 11], filter: [4, 3, 3], stride: [3, 3], extraFamilies: MORE },
  { name: 'stride-2x3', description: 'different strides per axis (2 along height, 3 along width)', x: [2, 3, 9, 10], filter: [4, 3, 3], stride: [2, 3], padding: pads(1, 1, 1, 1), extraFamilies: MORE, allPrecisions: true },
  { name: 'stride-3x1', description: 'stride 3 along height, 1 along width, 2x3 filter', x: [2, 2, 11, 6], filter: [3, 2, 3], stride: [3, 1], padding: pads(0, 1, 1, 0), extraFamilies: MORE },
  { name: 'stride-1x2-kernel-3x2', description: 'stride 1 along height, 2 along width, 3x2 filter', x: [1, 3, 6, 9], filter: [2, 3, 2], stride: [1, 2], extraFamilies: MORE },
  { name: 'stride-gt-kernel', description: 'stride larger than the kernel: input rows and columns that no window reads (dx there is exactly 0)', x: [2, 2, 9, 10], filter: [3, 2, 2], stride: [3, 4], extraFamilies: MORE, allPrecisions: true },
  { name: 'stride-gt-kernel-padded', description: 'stride 4x3 with a 2x2 filter and padding', x: [1, 3, 11, 9], filter: [2, 2, 2], stride: [4, 3], padding: pads(1, 0, 0, 1), extraFamilies: MORE },
  { name: 'stride-gt-input', description: 'stride larger than the input: one output position per axis', x: [1, 2, 3, 4], filter: [3, 2, 2], stride: [5, 6], padding: pads(1, 1, 1, 1), extraFamilies: MORE },

  // --- input size not divisible by the stride ------------------------------
  { name: 'tail-one-row-col', description: 'input not divisible by the stride: one tail row and one tail column are never read', x: [2, 3, 8, 10], filter: [4, 3, 3], stride: [2, 2], extraFamilies: MORE, allPrecisions: true },
  { name: 'tail-several-rows', description: 'three tail rows and two tail columns are never read (stride 4x3)', x: [2, 2, 14, 10], filter: [3, 3, 3], stride: [4, 3], extraFamilies: MORE },
  { name: 'tail-with-padding', description: 'dropped tail with a top/left pad: the last window ends before the input does', x: [1, 3, 12, 9], filter: [2, 2, 3], stride: [3, 2], padding: pads(1, 0, 2, 0), extraFamilies: MORE },

  // --- dilation -----------------------------------------------------------
  { name: 'dilation-2', description: 'dilation 2 on both axes, padding 2', x: [2, 3, 9, 10], filter: [4, 3, 3], dilation: [2, 2], padding: pads(2, 2, 2, 2), extraFamilies: MORE, allPrecisions: true },
  { name: 'dilation-3', description: 'dilation 3 on both axes, no padding', x: [1, 3, 11, 12], filter: [3, 3, 3], dilation: [3, 3], extraFamilies: MORE },
  { name: 'dilation-2x3', description: 'different dilations per axis with four different pads', x: [2, 2, 10, 12], filter: [4, 3, 3], dilation: [2, 3], padding: pads(2, 1, 3, 2), extraFamilies: MORE, allPrecisions: true },
  { name: 'dilation-3x1-kernel-2x3', description: 'dilation 3 along height only, 2x3 filter', x: [1, 3, 9, 7], filter: [2, 2, 3], dilation: [3, 1], padding: pads(0, 1, 1, 1), extraFamilies: MORE },
  { name: 'dilation-with-stride', description: 'dilation 2x3 and stride 2x3 at the same time, asymmetric pads', x: [2, 3, 13, 11], filter: [4, 3, 2], dilation: [2, 3], stride: [2, 3], padding: pads(1, 2, 0, 1), extraFamilies: MORE, allPrecisions: true },
  { name: 'dilation-output-1x1', description: 'the dilated kernel spans the whole padded input: output 1x1', x: [1, 2, 7, 9], filter: [3, 3, 3], dilation: [3, 4], extraFamilies: MORE },
  { name: 'dilation-output-1x1-padded', description: 'dilated kernel larger than the input, reaching into the padding: output 1x1', x: [2, 2, 4, 5], filter: [2, 3, 2], dilation: [2, 5], padding: pads(1, 0, 0, 1), extraFamilies: MORE },

  // --- padding ------------------------------------------------------------
  { name: 'pads-symmetric-2', description: 'padding 2 on every side with a 3x3 filter', x: [2, 3, 6, 7], filter: [4, 3, 3], padding: pads(2, 2, 2, 2), extraFamilies: MORE },
  { name: 'pad-top-only', description: 'padding on the top side only', x: [2, 2, 6, 5], filter: [3, 3, 3], padding: pads(2, 0, 0, 0), extraFamilies: MORE },
  { name: 'pad-bottom-only', description: 'padding on the bottom side only', x: [2, 2, 6, 5], filter: [3, 3, 3], padding: pads(0, 2, 0, 0), extraFamilies: MORE },
  { name: 'pad-left-only', description: 'padding on the left side only', x: [2, 2, 5, 6], filter: [3, 3, 3], padding: pads(0, 0, 2, 0), extraFamilies: MORE },
  { name: 'pad-right-only', description: 'padding on the right side only', x: [2, 2, 5, 6], filter: [3, 3, 3], padding: pads(0, 0, 0, 2), extraFamilies: MORE },
  { name: 'pads-four-different', description: 'four different pads (top 1, bottom 3, left 2, right 0)', x: [2, 3, 7, 6], filter: [4, 3, 3], padding: pads(1, 3, 2, 0), extraFamilies: MORE, allPrecisions: true },
  { name: 'pads-ge-kernel', description: 'pads at least as large as the kernel: some outputs see only padding', x: [1, 2, 5, 6], filter: [3, 2, 2], padding: pads(3, 2, 4, 2), extraFamilies: MORE, allPrecisions: true },
  { name: 'pads-ge-kernel-strided', description: 'pads larger than the kernel with stride 2x3', x: [2, 2, 6, 7], filter: [3, 2, 3], stride: [2, 3], padding: pads(3, 4, 3, 5), extraFamilies: MORE },
  { name: 'same-upper-odd-kernel', description: 'SAME_UPPER resolved (3x3 filter, stride 2: odd total pad, the extra after)', x: [2, 3, 8, 7], filter: [4, 3, 3], stride: [2, 2], padding: 'SAME_UPPER', extraFamilies: MORE, allPrecisions: true },
  { name: 'same-upper-even-kernel', description: 'SAME_UPPER resolved (2x4 filter, stride 1: odd total pad, the extra after)', x: [2, 2, 6, 7], filter: [3, 2, 4], padding: 'SAME_UPPER', extraFamilies: MORE },
  { name: 'same-lower-odd-kernel', description: 'SAME_LOWER resolved (3x3 filter, stride 2: odd total pad, the extra before)', x: [2, 3, 8, 7], filter: [4, 3, 3], stride: [2, 2], padding: 'SAME_LOWER', extraFamilies: MORE, allPrecisions: true },
  { name: 'same-lower-even-kernel', description: 'SAME_LOWER resolved (2x4 filter, stride 1: odd total pad, the extra before)', x: [2, 2, 6, 7], filter: [3, 2, 4], padding: 'SAME_LOWER', extraFamilies: MORE },
  { name: 'same-upper-dilated', description: 'SAME_UPPER with dilation 2x1 and stride 1x2', x: [1, 3, 7, 9], filter: [2, 3, 2], stride: [1, 2], dilation: [2, 1], padding: 'SAME_UPPER', extraFamilies: MORE },
  { name: 'valid-strided', description: 'VALID padding with stride 2x1', x: [2, 3, 8, 7], filter: [4, 3, 3], stride: [2, 1], padding: 'VALID', extraFamilies: MORE },

  // --- sizes --------------------------------------------------------------
  { name: 'kernel-gt-input', description: 'filter larger than the input, made to fit by padding', x: [1, 2, 3, 2], filter: [3, 5, 4], padding: pads(2, 2, 2, 2), extraFamilies: MORE, allPrecisions: true },
  { name: 'kernel-gt-input-asymmetric', description: 'filter larger than the input with asymmetric padding and stride', x: [2, 3, 2, 3], filter: [2, 4, 5], stride: [1, 2], padding: pads(3, 1, 2, 3), extraFamilies: MORE },
  { name: 'input-1x1', description: 'a 1x1 input with a 1x1 filter', x: [2, 3, 1, 1], filter: [4, 1, 1], extraFamilies: ALL_EXTRA },
  { name: 'input-1x1-padded', description: 'a 1x1 input with a 3x3 filter and padding 1: only the centre tap reads the input', x: [2, 3, 1, 1], filter: [2, 3, 3], padding: pads(1, 1, 1, 1), extraFamilies: MORE },
  { name: 'output-1x1', description: 'a filter as large as the input: output 1x1', x: [2, 3, 4, 5], filter: [4, 4, 5], extraFamilies: ALL_EXTRA, allPrecisions: true },
  { name: 'output-gt-input', description: 'padding makes the output larger than the input', x: [1, 2, 3, 4], filter: [3, 2, 2], padding: pads(2, 2, 2, 1), extraFamilies: MORE },

  // --- groups -------------------------------------------------------------
  { name: 'groups-2', description: '2 groups, 2 input and 3 output channels per group', x: [2, 4, 6, 7], filter: [6, 3, 3], groups: 2, padding: pads(1, 1, 1, 1), extraFamilies: WITH_ZEROS, allPrecisions: true },
  { name: 'groups-4', description: '4 groups, 2 input and 2 output channels per group, asymmetric pads', x: [1, 8, 5, 6], filter: [8, 3, 3], groups: 4, padding: pads(1, 0, 1, 2), extraFamilies: MORE, allPrecisions: true },
  { name: 'groups-4-unpadded', description: '4 groups, 3 input and 2 output channels per group', x: [2, 12, 5, 4], filter: [8, 2, 3], groups: 4, extraFamilies: ALL_EXTRA },
  { name: 'depthwise-multiplier-1', description: 'depthwise (groups = C) with channel multiplier 1', x: [2, 5, 6, 7], filter: [5, 3, 3], groups: 5, padding: pads(1, 1, 1, 1), extraFamilies: WITH_ZEROS, allPrecisions: true },
  { name: 'depthwise-multiplier-2', description: 'depthwise (groups = C) with channel multiplier 2', x: [2, 3, 7, 6], filter: [6, 3, 3], groups: 3, padding: pads(1, 1, 1, 1), extraFamilies: MORE, allPrecisions: true },
  { name: 'groups-stride-dilation', description: '3 groups with stride 2x1, dilation 1x2 and asymmetric pads', x: [2, 6, 11, 10], filter: [9, 3, 2], groups: 3, stride: [2, 1], dilation: [1, 2], padding: pads(1, 1, 2, 0), extraFamilies: MORE, allPrecisions: true },
  { name: 'depthwise-stride-dilation', description: 'depthwise with multiplier 2, stride 2, dilation 2x3', x: [1, 4, 12, 13], filter: [8, 3, 3], groups: 4, stride: [2, 2], dilation: [2, 3], padding: pads(2, 1, 3, 2), extraFamilies: MORE },

  // --- batch and channels -------------------------------------------------
  { name: 'batch-3', description: 'three images in the batch', x: [3, 2, 5, 6], filter: [3, 3, 2], padding: pads(1, 0, 0, 1), extraFamilies: WITH_ZEROS, allPrecisions: true },
  { name: 'single-channel', description: 'one input and one output channel', x: [2, 1, 6, 5], filter: [1, 3, 3], padding: pads(1, 1, 1, 1), extraFamilies: MORE },
  { name: 'odd-channels-17', description: '17 input and 13 output channels', x: [1, 17, 5, 6], filter: [13, 3, 3], padding: pads(1, 1, 0, 1), extraFamilies: MORE, allPrecisions: true },
  { name: 'odd-channels-grouped', description: '15 input channels in 3 groups, 7x9 input, stride 2', x: [3, 15, 7, 9], filter: [9, 3, 3], groups: 3, stride: [2, 2], padding: pads(1, 1, 1, 1), extraFamilies: MORE },

  // --- realistic layers (long accumulations) -------------------------------
  { name: 'realistic-3x3-c32-28x28', description: 'a realistic 3x3 layer: N=2, C=32, 28x28, padding 1', x: [2, 32, 28, 28], filter: [32, 3, 3], padding: pads(1, 1, 1, 1), tags: ['realistic'], families: ['exact', 'normal'] },
  { name: 'realistic-resnet-bottleneck-reduce', description: 'ResNet-like 1x1 bottleneck reduce: 64 -> 16 channels at 14x14', x: [2, 64, 14, 14], filter: [16, 1, 1], tags: ['realistic'], families: ['exact', 'normal'] },
  { name: 'realistic-resnet-bottleneck-expand-strided', description: 'ResNet-like 1x1 projection with stride 2: 16 -> 64 channels', x: [2, 16, 14, 14], filter: [64, 1, 1], stride: [2, 2], tags: ['realistic'], families: ['exact', 'normal'] },
  { name: 'realistic-depthwise-separable-dw', description: 'MobileNet-like depthwise 3x3 stride 2 with SAME_UPPER padding, 32 channels at 16x16', x: [2, 32, 16, 16], filter: [32, 3, 3], groups: 32, stride: [2, 2], padding: 'SAME_UPPER', tags: ['realistic'], families: ['exact', 'normal'] },
  { name: 'realistic-long-accumulation', description: 'N=4, 32x32 images, 8 channels: dw sums 4096 products per element', x: [4, 8, 32, 32], filter: [8, 3, 3], padding: pads(1, 1, 1, 1), tags: ['realistic'], families: ['exact', 'normal'] },
];
