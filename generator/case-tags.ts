/**
 * Tags derived from a fixture's geometry. They are computed, never typed by
 * hand, so a tag on a fixture is a fact about its shapes and parameters.
 */
import { accumulationLengths, convOutputSize, effectiveKernelSize, unreadTailSize, type Conv2dGeometry } from '../src/geometry.js';
import type { Conv2dParams, PaddingMode } from '../src/types.js';

/** True when some output position along an axis reads only padding (all its taps fall outside the input). */
function hasPaddingOnlyOutputs(input: number, kernel: number, stride: number, dilation: number, padBefore: number, padAfter: number): boolean {
  const outputs = convOutputSize(input, kernel, stride, dilation, padBefore, padAfter);
  for (let output = 0; output < outputs; output++) {
    let readsInput = false;
    for (let tap = 0; tap < kernel; tap++) {
      const row = output * stride + tap * dilation - padBefore;
      if (row >= 0 && row < input) readsInput = true;
    }
    if (!readsInput) return true;
  }
  return false;
}

export function geometryTags(geometry: Conv2dGeometry, params: Conv2dParams, paddingMode: PaddingMode): string[] {
  const tags = new Set<string>();
  const { stride, dilation, pads, groups } = params;
  const { inHeight, inWidth, kernelHeight, kernelWidth, outHeight, outWidth, inChannels, outChannels, batch } = geometry;

  if (stride[0] > 1 || stride[1] > 1) tags.add('strided');
  if (stride[0] !== stride[1]) tags.add('stride-per-axis');
  if (stride[0] > kernelHeight || stride[1] > kernelWidth) tags.add('stride-gt-kernel');
  if (stride[0] > inHeight || stride[1] > inWidth) tags.add('stride-gt-input');
  if (dilation[0] > 1 || dilation[1] > 1) tags.add('dilated');
  if (dilation[0] !== dilation[1]) tags.add('dilation-per-axis');
  if ((dilation[0] > 1 || dilation[1] > 1) && (stride[0] > 1 || stride[1] > 1)) tags.add('dilated-and-strided');

  const tailHeight = unreadTailSize(inHeight, kernelHeight, stride[0], dilation[0], pads.top, pads.bottom);
  const tailWidth = unreadTailSize(inWidth, kernelWidth, stride[1], dilation[1], pads.left, pads.right);
  if (tailHeight > 0 || tailWidth > 0) tags.add('unread-tail');
  if (tailHeight > 1 || tailWidth > 1) tags.add('unread-tail-several');
  if (inHeight % stride[0] !== 0 || inWidth % stride[1] !== 0) tags.add('input-not-divisible-by-stride');

  const padded = pads.top + pads.bottom + pads.left + pads.right > 0;
  if (padded) tags.add('padded');
  if (padded && pads.top === pads.bottom && pads.bottom === pads.left && pads.left === pads.right) tags.add('pads-symmetric');
  if (pads.top !== pads.bottom || pads.left !== pads.right) tags.add('pads-asymmetric');
  const sides = [pads.top, pads.bottom, pads.left, pads.right];
  const onlySide = sides.filter((pad) => pad > 0).length === 1;
  if (onlySide) tags.add(['pad-top-only', 'pad-bottom-only', 'pad-left-only', 'pad-right-only'][sides.findIndex((pad) => pad > 0)]);
  if (new Set(sides).size === 4) tags.add('pads-four-different');
  const kernelSpanHeight = effectiveKernelSize(kernelHeight, dilation[0]);
  const kernelSpanWidth = effectiveKernelSize(kernelWidth, dilation[1]);
  if (Math.max(pads.top, pads.bottom) >= kernelSpanHeight || Math.max(pads.left, pads.right) >= kernelSpanWidth) tags.add('pads-ge-kernel');
  if (
    hasPaddingOnlyOutputs(inHeight, kernelHeight, stride[0], dilation[0], pads.top, pads.bottom) ||
    hasPaddingOnlyOutputs(inWidth, kernelWidth, stride[1], dilation[1], pads.left, pads.right)
  ) {
    tags.add('padding-only-outputs');
  }
  tags.add(`padding-${paddingMode.toLowerCase().replace('_', '-')}`);
  if (paddingMode === 'SAME_UPPER' || paddingMode === 'SAME_LOWER') {
    tags.add(kernelHeight % 2 === 1 && kernelWidth % 2 === 1 ? 'same-odd-kernel' : 'same-even-kernel');
  }

  if (kernelHeight === 1 && kernelWidth === 1) tags.add('pointwise');
  if (kernelHeight !== kernelWidth) tags.add('non-square-kernel');
  if (kernelHeight === 1 || kernelWidth === 1) tags.add('kernel-one-wide');
  if (kernelSpanHeight > inHeight || kernelSpanWidth > inWidth) tags.add('kernel-gt-input');
  if (inHeight === 1 && inWidth === 1) tags.add('input-1x1');
  if (outHeight === 1 && outWidth === 1) tags.add('output-1x1');
  if (outHeight * outWidth > inHeight * inWidth) tags.add('output-gt-input');
  if (inHeight !== inWidth) tags.add('non-square-input');

  if (groups > 1 && groups < inChannels) tags.add('grouped');
  if (groups > 1 && groups === inChannels) {
    tags.add('depthwise');
    tags.add(`channel-multiplier-${outChannels / groups}`);
  }
  if (groups > 1 && (stride[0] > 1 || stride[1] > 1 || dilation[0] > 1 || dilation[1] > 1)) tags.add('grouped-strided-or-dilated');

  tags.add(batch === 1 ? 'batch-1' : 'batch-gt-1');
  if (batch >= 3) tags.add('batch-3-or-more');
  if (inChannels === 1 && outChannels === 1) tags.add('single-channel');
  if (inChannels !== outChannels) tags.add('channels-differ');
  if (inChannels % 2 === 1 && inChannels >= 13) tags.add('odd-channels');
  const lengths = accumulationLengths(geometry);
  if (Math.max(lengths.dx, lengths.dw) >= 1000) tags.add('accumulation-1000-plus');
  return [...tags].sort();
}

/**
 * The corpus must cover each of these: a tag -> what it stands for in the
 * issue's list. The coverage test reads the manifest and fails on any tag
 * without a fixture.
 */
export const REQUIRED_COVERAGE: Record<string, string> = {
  'padding-explicit': 'basic 3x3 pad 1',
  pointwise: '1x1 filters (with and without stride, with padding)',
  'non-square-kernel': 'non-square kernels (1x3, 3x1, 2x3)',
  strided: 'strides 2 and 3',
  'stride-per-axis': 'strides different per axis',
  'stride-gt-kernel': 'stride larger than the kernel (rows no window reads)',
  'stride-gt-input': 'stride larger than the input',
  'unread-tail': 'input not divisible by stride, one dropped tail row/col',
  'unread-tail-several': 'several dropped tail rows/cols',
  dilated: 'dilation 2 and 3',
  'dilation-per-axis': 'dilation different per axis',
  'dilated-and-strided': 'dilation with stride > 1',
  'output-1x1': 'output 1x1 (dilated kernel as large as the padded input)',
  'pads-symmetric': 'symmetric padding',
  'pads-asymmetric': 'asymmetric padding',
  'pad-top-only': 'padding on the top only',
  'pad-bottom-only': 'padding on the bottom only',
  'pad-left-only': 'padding on the left only',
  'pad-right-only': 'padding on the right only',
  'pads-four-different': 'four different pads',
  'pads-ge-kernel': 'padding >= kernel',
  'padding-only-outputs': 'outputs that see only padding',
  'padding-same-upper': 'SAME_UPPER resolved',
  'padding-same-lower': 'SAME_LOWER resolved',
  'same-odd-kernel': 'SAME with an odd kernel',
  'same-even-kernel': 'SAME with an even kernel',
  'padding-valid': 'VALID',
  'kernel-gt-input': 'kernel larger than the input',
  'input-1x1': 'input 1x1',
  'output-gt-input': 'output larger than input',
  grouped: 'groups 2 and 4',
  depthwise: 'depthwise (groups = C)',
  'channel-multiplier-1': 'depthwise with multiplier 1',
  'channel-multiplier-2': 'depthwise with multiplier 2',
  'grouped-strided-or-dilated': 'groups with stride and dilation',
  'batch-1': 'batch 1',
  'batch-3-or-more': 'batch 3',
  'single-channel': 'single channel',
  'odd-channels': 'Cin = 17-style odd sizes',
  realistic: 'realistic layers',
  'nan-dy': 'special: NaN in dy',
  'nan-x': 'special: NaN in x',
  'inf-dy': 'special: +Inf and -Inf in dy',
  'inf-x': 'special: +Inf and -Inf in x',
  'signed-zero': 'special: signed zeros',
  'accumulation-1000-plus': 'accumulation lengths in the thousands',
};
