/**
 * The space fuzz cases are drawn from: wider than the corpus on every axis, and
 * sized so that a case costs about what a corpus fixture costs on average.
 *
 *   batch N 1..8, input channels C 1..96 (a multiple of groups), H and W 1..64,
 *   kernels 1..11 per axis (3 with probability 0.2 each, the rest drawn as below),
 *   strides 1..5 (1 with probability 0.35), dilations 1..4 (1 with probability
 *   0.5): the common values of real layers, and what a `supports` function that
 *   takes only 3x3 unstrided undilated convolutions needs), each pad 0..(dilated
 *   kernel + 1) (beyond the kernel), padding modes EXPLICIT (55%), SAME_UPPER,
 *   SAME_LOWER, VALID (15% each); groups: 1 (50%), G > 1 with several channels
 *   per group (25%), depthwise G = C with a channel multiplier 1..4 (25%);
 *   every dtype the adapter declares (uniform); every data family (uniform), the
 *   special family with one of its variants (and stride 1, dilation 1, no pads,
 *   where its values are defined the same for every correct implementation).
 *
 * Sizes: each size is drawn from a mixture, half uniform over its range and half
 * log-uniform (so small and large sizes are both common). The cost of a case is
 * its forward MACs, N*Cout*OH*OW*(C/G)*KH*KW (dx and dw each cost as many). A
 * budget T is drawn log-uniformly from [1, 2^20] MACs (mean about 75,600, the
 * corpus's mean being about 82,000 MACs, its median 2,430), and while a case
 * costs more than T, one of its sizes (drawn at random among N, C/G, Cout/G, G,
 * H, W, KH, KW that are above 1) is halved. Declared capabilities are respected
 * while drawing: no groups, dilation or asymmetric pads when the flags say so.
 */
import { DATA_FAMILY_DEFINITIONS } from '../../src/data-families.js';
import { accumulationLengths, convOutputSize, effectiveKernelSize } from '../../src/geometry.js';
import { boundLengthProblem } from '../../src/expected-values.js';
import type { Prng } from '../../src/prng.js';
import { DATA_FAMILIES, type AdapterCapabilities, type PaddingMode, type Pads } from '../../src/types.js';
import { caseGeometry, caseMacs, resolvedPads, type FuzzCase } from './fuzz-case.js';

/** The bounds of the space. */
export const FUZZ_LIMITS = {
  batch: 8,
  channels: 96,
  spatial: 64,
  kernel: 11,
  stride: 5,
  dilation: 4,
  channelMultiplier: 4,
  /** log2 of the largest cost budget, in MACs. */
  budgetLog2: 21,
} as const;

/** The common value of a parameter (3x3 kernels, stride 1, dilation 1) with probability `share`, else drawSize. */
function drawParameter(prng: Prng, max: number, common: number, share: number): number {
  return prng.nextFloat() < share ? common : drawSize(prng, max);
}

/** An integer in [1, max]: half the time uniform, half log-uniform. */
export function drawSize(prng: Prng, max: number): number {
  if (max <= 1) return 1;
  if (prng.nextFloat() < 0.5) return prng.integer(1, max);
  return Math.min(max, Math.floor(Math.exp(prng.nextFloat() * Math.log(max + 1))));
}

function drawPaddingMode(prng: Prng): PaddingMode {
  const draw = prng.nextFloat();
  if (draw < 0.55) return 'EXPLICIT';
  if (draw < 0.7) return 'SAME_UPPER';
  if (draw < 0.85) return 'SAME_LOWER';
  return 'VALID';
}

interface Sizes {
  batch: number;
  groups: number;
  inPerGroup: number;
  outPerGroup: number;
  height: number;
  width: number;
  kernelHeight: number;
  kernelWidth: number;
}

/** The forward MACs of sizes with these output sizes. */
function macsOf(sizes: Sizes, outHeight: number, outWidth: number): number {
  return sizes.batch * sizes.groups * sizes.outPerGroup * outHeight * outWidth * sizes.inPerGroup * sizes.kernelHeight * sizes.kernelWidth;
}

/** Halve sizes (one at a time, drawn at random among those above 1) until the case costs at most `budget` MACs. */
function fitBudget(prng: Prng, sizes: Sizes, budget: number, outputSize: (sizes: Sizes) => [number, number]): void {
  const keys: (keyof Sizes)[] = ['batch', 'groups', 'inPerGroup', 'outPerGroup', 'height', 'width', 'kernelHeight', 'kernelWidth'];
  for (;;) {
    const [outHeight, outWidth] = outputSize(sizes);
    if (macsOf(sizes, Math.max(1, outHeight), Math.max(1, outWidth)) <= budget) return;
    const reducible = keys.filter((key) => sizes[key] > 1);
    if (reducible.length === 0) return;
    const key = prng.pick(reducible);
    sizes[key] = Math.max(1, Math.floor(sizes[key] / 2));
  }
}

/** How many draws one case may take before the space is declared empty for this adapter. */
const MAX_ATTEMPTS = 1000;

/**
 * Draw one case the adapter's declared dtypes and flags allow, whose family's
 * rule can hold (bound finite for its accumulation lengths). The data seed is drawn
 * too, so the whole case follows from the fuzz seed. (Problems that need the data,
 * an exactness proof or an overflow, are found when the case is built; the caller
 * then draws again.)
 */
export function drawFuzzCase(prng: Prng, capabilities: Pick<AdapterCapabilities, 'dtypes' | 'supports'>): FuzzCase {
  const flags = capabilities.supports === 'function' ? { groups: true, dilation: true, asymmetricPads: true } : capabilities.supports;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const dtype = prng.pick(capabilities.dtypes);
    const family = prng.pick(DATA_FAMILIES);
    const special = family === 'special';
    const groupKind = flags.groups ? prng.nextFloat() : 0;
    const sizes: Sizes = {
      batch: drawSize(prng, FUZZ_LIMITS.batch),
      groups: 1,
      inPerGroup: 1,
      outPerGroup: 1,
      height: drawSize(prng, FUZZ_LIMITS.spatial),
      width: drawSize(prng, FUZZ_LIMITS.spatial),
      kernelHeight: drawParameter(prng, FUZZ_LIMITS.kernel, 3, 0.2),
      kernelWidth: drawParameter(prng, FUZZ_LIMITS.kernel, 3, 0.2),
    };
    if (groupKind < 0.5) {
      sizes.inPerGroup = drawSize(prng, FUZZ_LIMITS.channels);
      sizes.outPerGroup = drawSize(prng, FUZZ_LIMITS.channels);
    } else if (groupKind < 0.75) {
      sizes.groups = prng.integer(2, 8);
      sizes.inPerGroup = drawSize(prng, Math.floor(FUZZ_LIMITS.channels / sizes.groups));
      sizes.outPerGroup = drawSize(prng, Math.floor(FUZZ_LIMITS.channels / sizes.groups));
    } else {
      sizes.groups = drawSize(prng, FUZZ_LIMITS.channels);
      sizes.outPerGroup = prng.integer(1, FUZZ_LIMITS.channelMultiplier);
    }
    const stride: [number, number] = special ? [1, 1] : [drawParameter(prng, FUZZ_LIMITS.stride, 1, 0.35), drawParameter(prng, FUZZ_LIMITS.stride, 1, 0.35)];
    const dilation: [number, number] =
      special || !flags.dilation ? [1, 1] : [drawParameter(prng, FUZZ_LIMITS.dilation, 1, 0.5), drawParameter(prng, FUZZ_LIMITS.dilation, 1, 0.5)];
    let padding: PaddingMode = special ? 'VALID' : drawPaddingMode(prng);
    // The auto modes put the odd pad on one side: asymmetric, so only EXPLICIT (symmetric) or VALID without the flag.
    if (!flags.asymmetricPads && (padding === 'SAME_UPPER' || padding === 'SAME_LOWER')) padding = 'EXPLICIT';
    const padFor = (kernel: number, axisDilation: number): number => prng.integer(0, effectiveKernelSize(kernel, axisDilation) + 1);
    const explicitPads = (): Pads => {
      const top = padFor(sizes.kernelHeight, dilation[0]);
      const left = padFor(sizes.kernelWidth, dilation[1]);
      if (!flags.asymmetricPads) return { top, bottom: top, left, right: left };
      return { top, bottom: padFor(sizes.kernelHeight, dilation[0]), left, right: padFor(sizes.kernelWidth, dilation[1]) };
    };
    const pads = padding === 'EXPLICIT' ? explicitPads() : undefined;
    const outputSize = (current: Sizes): [number, number] => {
      const resolved = padding === 'EXPLICIT' ? pads! : resolvedPads({ ...toCase(current), pads: undefined });
      return [
        convOutputSize(current.height, current.kernelHeight, stride[0], dilation[0], resolved.top, resolved.bottom),
        convOutputSize(current.width, current.kernelWidth, stride[1], dilation[1], resolved.left, resolved.right),
      ];
    };
    const toCase = (current: Sizes): Omit<FuzzCase, 'pads'> => ({
      x: [current.batch, current.groups * current.inPerGroup, current.height, current.width],
      filter: [current.groups * current.outPerGroup, current.kernelHeight, current.kernelWidth],
      groups: current.groups,
      stride,
      dilation,
      padding,
      dtype,
      family,
      variant: '',
      seed: 0,
      dyKeep: null,
    });
    const budget = 2 ** (prng.nextFloat() * FUZZ_LIMITS.budgetLog2);
    fitBudget(prng, sizes, budget, outputSize);
    const [outHeight, outWidth] = outputSize(sizes);
    const seed = prng.nextUint32();
    if (outHeight < 1 || outWidth < 1) continue;
    const partial = toCase(sizes);
    const fuzzCase: FuzzCase = { ...partial, pads: pads ?? resolvedPads({ ...partial, pads: undefined }), seed };
    const geometry = caseGeometry(fuzzCase);
    if (caseMacs(geometry) > 2 ** FUZZ_LIMITS.budgetLog2) continue;
    if (DATA_FAMILY_DEFINITIONS[family].rule === 'bound' && boundLengthProblem(accumulationLengths(geometry), dtype) !== null) continue;
    const variants = DATA_FAMILY_DEFINITIONS[family].variants(fuzzCase);
    if (variants.length === 0) continue;
    fuzzCase.variant = prng.pick(variants);
    return fuzzCase;
  }
  throw new Error(`drawFuzzCase: no case in ${MAX_ATTEMPTS} draws for dtypes ${capabilities.dtypes.join(', ')}`);
}
