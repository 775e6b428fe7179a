/**
 * Seeded random Conv2d configurations and data for tests.
 *
 *   const prng = new Prng(1234);
 *   const testCase = randomConvCase(prng, { maxInput: 5 });
 *   conv2dBackward(testCase.x, testCase.w, testCase.dy, testCase.params);
 *
 * Shapes come from src/geometry.ts (never re-derived here). Configurations are drawn so
 * that every feature the oracle handles shows up: strides, per-axis dilation,
 * asymmetric pads (including pads >= the kernel), groups, depthwise with a channel
 * multiplier, kernels larger than the input, batch > 1.
 */
import { conv2dGeometry, convOutputSize, effectiveKernelSize, shapeSize, unreadTailSize } from '../../src/geometry.js';
import type { Prng } from '../../src/prng.js';
import type { Conv2dParams, Float64Tensor } from '../../src/types.js';

/** Shapes and parameters of one convolution, before any data. */
export interface ConvConfig {
  batch: number;
  inChannels: number;
  outChannels: number;
  inHeight: number;
  inWidth: number;
  kernelHeight: number;
  kernelWidth: number;
  params: Conv2dParams;
}

/**
 * How element values are drawn.
 * `normal`: standard normal doubles (every product and sum rounds).
 * `integer`: integers in [-3, 3]; every product and partial sum of a small case is an
 * integer far below 2^53, so float64 arithmetic on them is exact in any order.
 */
export type ValueKind = 'normal' | 'integer';

export interface ConvCase {
  config: ConvConfig;
  params: Conv2dParams;
  xShape: number[];
  wShape: number[];
  dyShape: number[];
  x: Float64Tensor;
  w: Float64Tensor;
  /** A bias for the forward, shape [Cout]. */
  b: Float64Tensor;
  dy: Float64Tensor;
}

export interface RandomConvOptions {
  /** Largest batch N (default 3). */
  maxBatch?: number;
  /** Largest number of groups when not depthwise (default 3). */
  maxGroups?: number;
  /** Largest C/groups (default 2). */
  maxInChannelsPerGroup?: number;
  /** Largest Cout/groups (default 3). */
  maxOutChannelsPerGroup?: number;
  /** Largest H and W (default 7). */
  maxInput?: number;
  /** Largest KH and KW (default 4). */
  maxKernel?: number;
  /** Largest stride per axis (default 3). */
  maxStride?: number;
  /** Largest dilation per axis (default 3). */
  maxDilation?: number;
  /** Largest pad on each side (default 4, so pads >= the kernel occur). */
  maxPad?: number;
  /** Probability of a depthwise configuration (groups = C, C/groups = 1, multiplier 1 or 2); default 0.2. */
  depthwiseProbability?: number;
  /** Element values (default 'normal'). */
  values?: ValueKind;
  /**
   * Keep configurations in which no window reads any input value (pads >= the dilated kernel
   * on some axis; every gradient but db is then 0). Default false: they test little.
   */
  allowNothingRead?: boolean;
}

const DEFAULTS: Required<RandomConvOptions> = {
  maxBatch: 3,
  maxGroups: 3,
  maxInChannelsPerGroup: 2,
  maxOutChannelsPerGroup: 3,
  maxInput: 7,
  maxKernel: 4,
  maxStride: 3,
  maxDilation: 3,
  maxPad: 4,
  depthwiseProbability: 0.2,
  values: 'normal',
  allowNothingRead: false,
};

/** A float64 tensor of the given shape and values (length checked). */
export function float64Tensor(shape: number[], values: ArrayLike<number>): Float64Tensor {
  if (values.length !== shapeSize(shape)) {
    throw new RangeError(`float64Tensor: shape [${shape.join(', ')}] needs ${shapeSize(shape)} values, found ${values.length}`);
  }
  return { dtype: 'float64', shape: [...shape], data: Float64Array.from(values) };
}

/** A tensor of seeded random values. */
export function randomTensor(prng: Prng, shape: number[], values: ValueKind = 'normal'): Float64Tensor {
  const data = new Float64Array(shapeSize(shape));
  for (let index = 0; index < data.length; index++) data[index] = values === 'normal' ? prng.normal() : prng.integer(-3, 3);
  return { dtype: 'float64', shape: [...shape], data };
}

/** Draw a valid configuration (both output sizes >= 1). */
export function randomConvConfig(prng: Prng, options: RandomConvOptions = {}): ConvConfig {
  const settings = { ...DEFAULTS, ...options };
  for (let attempt = 0; attempt < 1000; attempt++) {
    const depthwise = prng.nextFloat() < settings.depthwiseProbability;
    let groups: number;
    let inChannelsPerGroup: number;
    let outChannelsPerGroup: number;
    if (depthwise) {
      groups = prng.integer(1, 4);
      inChannelsPerGroup = 1;
      outChannelsPerGroup = prng.integer(1, 2);
    } else {
      groups = prng.integer(1, settings.maxGroups);
      inChannelsPerGroup = prng.integer(1, settings.maxInChannelsPerGroup);
      outChannelsPerGroup = prng.integer(1, settings.maxOutChannelsPerGroup);
    }
    const inHeight = prng.integer(1, settings.maxInput);
    const inWidth = prng.integer(1, settings.maxInput);
    const kernelHeight = prng.integer(1, settings.maxKernel);
    const kernelWidth = prng.integer(1, settings.maxKernel);
    const params: Conv2dParams = {
      stride: [prng.integer(1, settings.maxStride), prng.integer(1, settings.maxStride)],
      dilation: [prng.integer(1, settings.maxDilation), prng.integer(1, settings.maxDilation)],
      pads: {
        top: prng.integer(0, settings.maxPad),
        bottom: prng.integer(0, settings.maxPad),
        left: prng.integer(0, settings.maxPad),
        right: prng.integer(0, settings.maxPad),
      },
      groups,
    };
    const outHeight = convOutputSize(inHeight, kernelHeight, params.stride[0], params.dilation[0], params.pads.top, params.pads.bottom);
    const outWidth = convOutputSize(inWidth, kernelWidth, params.stride[1], params.dilation[1], params.pads.left, params.pads.right);
    if (outHeight < 1 || outWidth < 1) continue;
    const nothingRead =
      unreadTailSize(inHeight, kernelHeight, params.stride[0], params.dilation[0], params.pads.top, params.pads.bottom) === inHeight ||
      unreadTailSize(inWidth, kernelWidth, params.stride[1], params.dilation[1], params.pads.left, params.pads.right) === inWidth;
    if (nothingRead && !settings.allowNothingRead) continue;
    return {
      batch: prng.integer(1, settings.maxBatch),
      inChannels: groups * inChannelsPerGroup,
      outChannels: groups * outChannelsPerGroup,
      inHeight,
      inWidth,
      kernelHeight,
      kernelWidth,
      params,
    };
  }
  throw new RangeError('randomConvConfig: no valid configuration in 1000 attempts; the options leave no kernel that fits');
}

/** Seeded data (x, w, b, dy) for a configuration. */
export function convCase(prng: Prng, config: ConvConfig, values: ValueKind = 'normal'): ConvCase {
  const xShape = [config.batch, config.inChannels, config.inHeight, config.inWidth];
  const wShape = [config.outChannels, config.inChannels / config.params.groups, config.kernelHeight, config.kernelWidth];
  const geometry = conv2dGeometry(xShape, wShape, config.params);
  return {
    config,
    params: config.params,
    xShape: geometry.xShape,
    wShape: geometry.wShape,
    dyShape: geometry.dyShape,
    x: randomTensor(prng, geometry.xShape, values),
    w: randomTensor(prng, geometry.wShape, values),
    b: randomTensor(prng, geometry.dbShape, values),
    dy: randomTensor(prng, geometry.dyShape, values),
  };
}

/** A random configuration with seeded data. */
export function randomConvCase(prng: Prng, options: RandomConvOptions = {}): ConvCase {
  const config = randomConvConfig(prng, options);
  return convCase(prng, config, options.values ?? DEFAULTS.values);
}

export type ConvFeature =
  | 'batched'
  | 'strided'
  | 'dilated'
  | 'dilation-differs-per-axis'
  | 'asymmetric-pads'
  | 'pad-at-least-kernel'
  | 'grouped'
  | 'depthwise-multiplier-2'
  | 'kernel-larger-than-input';

/** The features a configuration exercises (used to check that a random set covers them). */
export function convFeatures(config: ConvConfig): ConvFeature[] {
  const { params } = config;
  const { top, bottom, left, right } = params.pads;
  const features: ConvFeature[] = [];
  if (config.batch > 1) features.push('batched');
  if (params.stride[0] > 1 || params.stride[1] > 1) features.push('strided');
  if (params.dilation[0] > 1 || params.dilation[1] > 1) features.push('dilated');
  if (params.dilation[0] !== params.dilation[1]) features.push('dilation-differs-per-axis');
  if (top !== bottom || left !== right) features.push('asymmetric-pads');
  if (Math.max(top, bottom) >= config.kernelHeight || Math.max(left, right) >= config.kernelWidth) features.push('pad-at-least-kernel');
  if (params.groups > 1) features.push('grouped');
  if (params.groups === config.inChannels && config.outChannels === 2 * config.inChannels) features.push('depthwise-multiplier-2');
  if (
    effectiveKernelSize(config.kernelHeight, params.dilation[0]) > config.inHeight ||
    effectiveKernelSize(config.kernelWidth, params.dilation[1]) > config.inWidth
  ) {
    features.push('kernel-larger-than-input');
  }
  return features;
}

/** A one-line description of a configuration for test names and failure messages. */
export function describeConfig(config: ConvConfig): string {
  const { params } = config;
  const { top, bottom, left, right } = params.pads;
  return (
    `x[${config.batch},${config.inChannels},${config.inHeight},${config.inWidth}] ` +
    `w[${config.outChannels},${config.inChannels / params.groups},${config.kernelHeight},${config.kernelWidth}] ` +
    `stride ${params.stride.join('x')} dilation ${params.dilation.join('x')} pads t${top} b${bottom} l${left} r${right} groups ${params.groups}`
  );
}

/** Sum of a[i]*b[i] in index order (float64). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`dot: lengths differ (${a.length} vs ${b.length})`);
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += a[index] * b[index];
  return sum;
}
