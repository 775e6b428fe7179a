/**
 * Precision classes: the bound of src/tolerance.ts generalised to implementations
 * that, by their own contract, compute differently from a direct sum of products
 * in the dtype. Derivations: docs/tolerance.md.
 *
 * A class is an algorithm (direct, Winograd, FFT) and an fpmath mode (strict, or the
 * inputs rounded to tf32 / bfloat16 before the products, accumulation in the dtype).
 * For the elementwise classes (direct and Winograd, any fpmath) one formula holds:
 *
 *   bound = (gamma_D(u) * (1 + v)^2 + 2v + v^2) * Mt  +  2*gamma_k(2^-53) * M  +  u*|e|  +  (D + 1)*eta
 *
 * where v is the unit roundoff of the input rounding (0 when the dtype's values are
 * already values of the format), D the longest chain of rounded operations from an
 * input to the output, and Mt the algorithm's absolute evaluation: the same bilinear
 * algorithm run exactly on |inputs| and |constants|. For direct, D = k and Mt = M,
 * so direct/strict is exactly today's rule. FFT is judged normwise per output plane
 * (fftPlaneBounds, fftPlaneBound): ||g - e||_2 over each plane of dx and dw.
 */
import { DTYPE_INFO } from './dtype.js';
import { gamma } from './tolerance.js';
import type { Conv2dParams, Dtype, Float64Tensor } from './types.js';

export type PrecisionAlgorithm = 'direct' | 'winograd' | 'fft';
export type Fpmath = 'strict' | 'tf32' | 'bf16';
export const PRECISION_ALGORITHMS: readonly PrecisionAlgorithm[] = ['direct', 'winograd', 'fft'];
export const FPMATH_MODES: readonly Fpmath[] = ['strict', 'tf32', 'bf16'];

/** A Winograd tile F(output x output, kernel x kernel). */
export interface WinogradTile {
  output: number;
  kernel: number;
}
export const WINOGRAD_TILES: readonly WinogradTile[] = [
  { output: 2, kernel: 3 },
  { output: 4, kernel: 3 },
];

/** What an adapter declares about how it computes (default: direct, strict). */
export interface PrecisionClass {
  algorithm: PrecisionAlgorithm;
  /** Winograd only: the tile. */
  tile?: WinogradTile;
  fpmath: Fpmath;
}

export const DIRECT_STRICT: PrecisionClass = { algorithm: 'direct', fpmath: 'strict' };

/** A short label for reports: `direct`, `winograd F(2x2,3x3)/tf32`, ... */
export function precisionLabel(precision: PrecisionClass): string {
  const algorithm =
    precision.algorithm === 'winograd' && precision.tile !== undefined
      ? `winograd F(${precision.tile.output}x${precision.tile.output},${precision.tile.kernel}x${precision.tile.kernel})`
      : precision.algorithm;
  return precision.fpmath === 'strict' ? algorithm : `${algorithm}/${precision.fpmath}`;
}

/** Significand precision p (bits, implicit one included) of each dtype and fpmath format. */
const PRECISION_BITS: Record<Dtype | Exclude<Fpmath, 'strict'>, number> = { float16: 11, bfloat16: 8, float32: 24, float64: 53, tf32: 11, bf16: 8 };

/**
 * v: the unit roundoff of rounding the dtype's inputs to the fpmath format, 0 when every
 * value of the dtype is a value of the format (float16 in tf32; bfloat16 in tf32 or bf16).
 * tf32 and bf16 have float32's exponent range, which contains float16's and bfloat16's.
 */
export function inputRoundoff(dtype: Dtype, fpmath: Fpmath): number {
  if (fpmath === 'strict') return 0;
  const formatBits = PRECISION_BITS[fpmath];
  if (PRECISION_BITS[dtype] <= formatBits && dtype !== 'float32' && dtype !== 'float64') return 0;
  return 2 ** -formatBits;
}

/** The constants of the elementwise bound of one output under a class. */
export interface ClassCoefficients {
  /** Multiplies the absolute evaluation Mt: gamma_D(u)(1+v)^2 + 2v + v^2. */
  algorithmFactor: number;
  /** Multiplies M: 2*gamma_k(2^-53), the float64 reference's own error. */
  referenceFactor: number;
  /** Multiplies |expected|: u. */
  expectedFactor: number;
  /** Added: (D+1)*eta. */
  absoluteFloor: number;
  /** Multiplies Mt in the typical error: sqrt(D)*u + v. */
  typicalFactor: number;
}

export function classCoefficients(depth: number, accumulationLength: number, dtype: Dtype, fpmath: Fpmath): ClassCoefficients {
  const { unitRoundoff: u, underflowSpacing: eta } = DTYPE_INFO[dtype];
  const v = inputRoundoff(dtype, fpmath);
  const D = Math.max(1, depth);
  const k = Math.max(1, accumulationLength);
  return {
    algorithmFactor: gamma(D, u) * (1 + v) ** 2 + 2 * v + v * v,
    referenceFactor: 2 * gamma(k, 2 ** -53),
    expectedFactor: u,
    absoluteFloor: (D + 1) * eta,
    typicalFactor: Math.sqrt(D) * u + v,
  };
}

/** The bound of one element: Mt the absolute evaluation, M the sum of |products|. */
export function classElementBound(coefficients: ClassCoefficients, expected: number, magnitude: number, absoluteEvaluation: number): number {
  // Mt = 0 (so M = 0) means every term is exactly 0: the term is 0 even when gamma is Infinity.
  const algorithmTerm = absoluteEvaluation === 0 ? 0 : coefficients.algorithmFactor * absoluteEvaluation;
  const referenceTerm = magnitude === 0 ? 0 : coefficients.referenceFactor * magnitude;
  return algorithmTerm + referenceTerm + coefficients.expectedFactor * Math.abs(expected) + coefficients.absoluteFloor;
}

export function classTypicalError(coefficients: ClassCoefficients, expected: number, absoluteEvaluation: number): number {
  return coefficients.typicalFactor * absoluteEvaluation + coefficients.expectedFactor * Math.abs(expected) + coefficients.absoluteFloor;
}

// ---------------------------------------------------------------------------
// Winograd (Lavin-Gray points; Barabasz, Anderson, Soodhalter and Gregg, ACM TOMS 2020).

/**
 * The 1D transforms of F(m, r): y = A^T [(G g) .* (B^T d)] for the correlation
 * y_i = sum_j d_{i+j} g_j (i < m, j < r, d of length m + r - 1). 2D: A^T [(G g G^T) .* (B^T d B)] A.
 */
export interface WinogradMatrices {
  tile: WinogradTile;
  /** (m + r - 1) x (m + r - 1) */
  BT: number[][];
  /** (m + r - 1) x r */
  G: number[][];
  /** m x (m + r - 1) */
  AT: number[][];
}

/** F(2, 3), points 0, 1, -1, infinity. */
const F2_3: WinogradMatrices = {
  tile: { output: 2, kernel: 3 },
  BT: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  G: [
    [1, 0, 0],
    [1 / 2, 1 / 2, 1 / 2],
    [1 / 2, -1 / 2, 1 / 2],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};

/** F(4, 3), points 0, 1, -1, 2, -2, infinity. */
const F4_3: WinogradMatrices = {
  tile: { output: 4, kernel: 3 },
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

export function winogradMatrices(tile: WinogradTile): WinogradMatrices {
  const found = [F2_3, F4_3].find((matrices) => matrices.tile.output === tile.output && matrices.tile.kernel === tile.kernel);
  if (found === undefined) throw new Error(`winogradMatrices: no transform for F(${tile.output}, ${tile.kernel}); expected F(2, 3) or F(4, 3)`);
  return found;
}

function transpose(matrix: number[][]): number[][] {
  return matrix[0].map((_, column) => matrix.map((row) => row[column]));
}

function absolute(matrix: number[][]): number[][] {
  return matrix.map((row) => row.map(Math.abs));
}

/**
 * Rounded operations on the way through a 2D transform X -> T X T^T, whatever the order
 * (one stage of z^2-term sums or two of z-term sums, z the most nonzeros in a row of T):
 * z^2 - 1 additions, two multiplications by constants and two roundings of the constants.
 */
function transformDepth(T: number[][]): number {
  const z = Math.max(...T.map((row) => row.filter((entry) => entry !== 0).length));
  return z * z - 1 + 4;
}

/** Whether Winograd F(m, 3) applies to a fixture: 3x3 kernel, stride 1, dilation 1. */
export function winogradApplies(tile: WinogradTile, kernelShape: readonly number[], params: Conv2dParams): boolean {
  return (
    kernelShape[2] === tile.kernel &&
    kernelShape[3] === tile.kernel &&
    params.stride[0] === 1 &&
    params.stride[1] === 1 &&
    params.dilation[0] === 1 &&
    params.dilation[1] === 1
  );
}

/** Mt and D of one output under Winograd. */
export interface AbsoluteEvaluation {
  depth: number;
  values: Float64Array;
  /**
   * The largest absolute evaluation of any intermediate quantity (a transformed tile, a
   * one-sided half of a transform in either order, a product, a partial sum, an output):
   * computed, each is at most (1 + gamma_D(u)) times this. When that can pass the dtype's
   * largest finite value a correct implementation may overflow, and the class has no bound.
   */
  peak: number;
}

/** The running maximum of the intermediates' absolute evaluations. */
interface Peak {
  value: number;
}

function raise(peak: Peak, values: ArrayLike<number>): void {
  for (let index = 0; index < values.length; index++) if (values[index] > peak.value) peak.value = values[index];
}

/**
 * The 2D absolute evaluation |A^T| [ sum_terms (|G||g||G^T|) .* (|B^T||d||B|) ] |A| of one tile
 * position (generic: `left` maps the kernel-side operand, `right` the data side, `out` the output).
 */
function tileTransform(matrix: number[][], tile: Float64Array, rows: number, columns: number, peak: Peak): Float64Array {
  // Y = T X T^T, X rows x columns (square here), T t x rows.
  const t = matrix.length;
  const half = new Float64Array(t * columns);
  for (let i = 0; i < t; i++) for (let j = 0; j < columns; j++) {
    let sum = 0;
    for (let a = 0; a < rows; a++) sum += matrix[i][a] * tile[a * columns + j];
    half[i * columns + j] = sum;
  }
  // The other order's half, X T^T, is what an implementation transforming columns first holds.
  const otherHalf = new Float64Array(rows * t);
  for (let a = 0; a < rows; a++) for (let j = 0; j < t; j++) {
    let sum = 0;
    for (let b = 0; b < columns; b++) sum += tile[a * columns + b] * matrix[j][b];
    otherHalf[a * t + j] = sum;
  }
  const result = new Float64Array(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) {
    let sum = 0;
    for (let b = 0; b < columns; b++) sum += half[i * columns + b] * matrix[j][b];
    result[i * t + j] = sum;
  }
  raise(peak, half);
  raise(peak, otherHalf);
  raise(peak, result);
  return result;
}

/** Slight widening of a float64 evaluation so its own rounding cannot make the bound smaller than proven. */
const EVALUATION_SAFETY = 1 + 2 ** -40;

/**
 * Winograd's absolute evaluation Mt for dx and dw, and their depths D. dx is the forward
 * algorithm on dy (padded by r - 1 - pad) with the 180-degree rotated kernel, summed over the
 * output channels of the group in the transformed domain; dw the transposed algorithm
 * G^T [(A dY A^T) .* (B^T x B)] G summed over tiles and batch. Every tiling offset is tried and
 * the largest value per element kept, so the bound does not depend on where the tiles start.
 */
export function winogradAbsoluteEvaluation(
  tile: WinogradTile,
  x: Float64Tensor,
  w: Float64Tensor,
  dy: Float64Tensor,
  params: Conv2dParams,
): { dx: AbsoluteEvaluation; dw: AbsoluteEvaluation } {
  const { BT, G, AT } = winogradMatrices(tile);
  const m = tile.output;
  const r = tile.kernel;
  const n = m + r - 1;
  const absBT = absolute(BT);
  const absG = absolute(G);
  const absAT = absolute(AT);
  const absA = transpose(absAT); // n x m
  const absGT = transpose(absG); // r x n
  const [batch, channels, height, width] = x.shape;
  const [outChannels, channelsPerGroup] = w.shape;
  const [, , outHeight, outWidth] = dy.shape;
  const outPerGroup = outChannels / params.groups;
  const { top, left } = params.pads;

  // dx: correlation of dyP with rot180(w), dyP[i] = dy[i - (r - 1 - top)].
  const dxValues = new Float64Array(x.data.length);
  const dxPeak: Peak = { value: 0 };
  const kernelT = new Map<number, Float64Array>(); // (o, c') -> |G| |rot w| |G^T|
  for (let o = 0; o < outChannels; o++) for (let cg = 0; cg < channelsPerGroup; cg++) {
    const g = new Float64Array(r * r);
    for (let kh = 0; kh < r; kh++) for (let kw = 0; kw < r; kw++) {
      g[kh * r + kw] = Math.abs(w.data[((o * channelsPerGroup + cg) * r + (r - 1 - kh)) * r + (r - 1 - kw)]);
    }
    kernelT.set(o * channelsPerGroup + cg, tileTransform(absG, g, r, r, dxPeak));
  }
  const dyAt = (b: number, o: number, row: number, column: number): number => {
    const sourceRow = row - (r - 1 - top);
    const sourceColumn = column - (r - 1 - left);
    if (sourceRow < 0 || sourceRow >= outHeight || sourceColumn < 0 || sourceColumn >= outWidth) return 0;
    return Math.abs(dy.data[((b * outChannels + o) * outHeight + sourceRow) * outWidth + sourceColumn]);
  };
  const dataTile = new Float64Array(n * n);
  const accumulated = new Float64Array(n * n);
  // The transformed dy tiles of one tile position, one per output channel: the same for every
  // input channel, so computed once per position (not once per input channel).
  const transformedDy: Float64Array[] = new Array(outChannels);
  for (let offsetRow = 0; offsetRow < m; offsetRow++) for (let offsetColumn = 0; offsetColumn < m; offsetColumn++) {
    for (let b = 0; b < batch; b++) {
      for (let tileRow = -offsetRow; tileRow < height; tileRow += m) for (let tileColumn = -offsetColumn; tileColumn < width; tileColumn += m) {
        for (let o = 0; o < outChannels; o++) {
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) dataTile[i * n + j] = dyAt(b, o, tileRow + i, tileColumn + j);
          transformedDy[o] = tileTransform(absBT, dataTile, n, n, dxPeak);
        }
        for (let c = 0; c < channels; c++) {
          const group = Math.floor(c / channelsPerGroup);
          const cg = c % channelsPerGroup;
          accumulated.fill(0);
          for (let og = 0; og < outPerGroup; og++) {
            const o = group * outPerGroup + og;
            const V = transformedDy[o];
            const U = kernelT.get(o * channelsPerGroup + cg)!;
            // Products, and partial sums over the output channels: all at most the final sum.
            for (let index = 0; index < n * n; index++) accumulated[index] += U[index] * V[index];
          }
          raise(dxPeak, accumulated);
          const Y = tileTransform(absAT, accumulated, n, n, dxPeak);
          for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
            const row = tileRow + i;
            const column = tileColumn + j;
            if (row < 0 || row >= height || column < 0 || column >= width) continue;
            const index = ((b * channels + c) * height + row) * width + column;
            const value = Y[i * m + j] * EVALUATION_SAFETY;
            if (value > dxValues[index]) dxValues[index] = value;
          }
        }
      }
    }
  }
  const dxDepth = transformDepth(BT) + transformDepth(G) + 1 + (outPerGroup - 1) + transformDepth(AT);

  // dw: dw[o, c'] = sum over b and tiles of G^T [(A dY A^T) .* (B^T xP B)] G, xP the padded x.
  const dwValues = new Float64Array(w.data.length);
  const dwPeak: Peak = { value: 0 };
  const xAt = (b: number, c: number, row: number, column: number): number => {
    const sourceRow = row - top;
    const sourceColumn = column - left;
    if (sourceRow < 0 || sourceRow >= height || sourceColumn < 0 || sourceColumn >= width) return 0;
    return Math.abs(x.data[((b * channels + c) * height + sourceRow) * width + sourceColumn]);
  };
  const gradientTile = new Float64Array(m * m);
  const pairs = outChannels * channelsPerGroup;
  // Per (o, c'): sum over b and tiles of the products, in that order. The transformed dy tile of
  // (b, o, tile) and x tile of (b, c, tile) are each computed once per tile position.
  const transformedSums = new Float64Array(pairs * n * n);
  const transformedGradient: Float64Array[] = new Array(outChannels);
  const transformedX: Float64Array[] = new Array(channels);
  let tileCount = 0;
  for (let offsetRow = 0; offsetRow < m; offsetRow++) for (let offsetColumn = 0; offsetColumn < m; offsetColumn++) {
    transformedSums.fill(0);
    let tiles = 0;
    for (let b = 0; b < batch; b++) {
      for (let tileRow = -offsetRow; tileRow < outHeight; tileRow += m) for (let tileColumn = -offsetColumn; tileColumn < outWidth; tileColumn += m) {
        tiles++;
        for (let o = 0; o < outChannels; o++) {
          for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
            const row = tileRow + i;
            const column = tileColumn + j;
            const inside = row >= 0 && row < outHeight && column >= 0 && column < outWidth;
            gradientTile[i * m + j] = inside ? Math.abs(dy.data[((b * outChannels + o) * outHeight + row) * outWidth + column]) : 0;
          }
          transformedGradient[o] = tileTransform(absA, gradientTile, m, m, dwPeak);
        }
        for (let c = 0; c < channels; c++) {
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) dataTile[i * n + j] = xAt(b, c, tileRow + i, tileColumn + j);
          transformedX[c] = tileTransform(absBT, dataTile, n, n, dwPeak);
        }
        for (let o = 0; o < outChannels; o++) for (let cg = 0; cg < channelsPerGroup; cg++) {
          const c = Math.floor(o / outPerGroup) * channelsPerGroup + cg;
          const U = transformedGradient[o];
          const V = transformedX[c];
          const base = (o * channelsPerGroup + cg) * n * n;
          for (let index = 0; index < n * n; index++) transformedSums[base + index] += U[index] * V[index];
        }
      }
    }
    if (tiles > tileCount) tileCount = tiles;
    for (let pair = 0; pair < pairs; pair++) {
      const transformedSum = transformedSums.subarray(pair * n * n, (pair + 1) * n * n);
      raise(dwPeak, transformedSum);
      const Y = tileTransform(absGT, transformedSum, n, n, dwPeak);
      for (let index = 0; index < r * r; index++) {
        const target = pair * r * r + index;
        const value = Y[index] * EVALUATION_SAFETY;
        if (value > dwValues[target]) dwValues[target] = value;
      }
    }
  }
  const dwDepth = transformDepth(transpose(AT)) + transformDepth(BT) + 1 + (tileCount - 1) + transformDepth(transpose(G));
  return {
    dx: { depth: dxDepth, values: dxValues, peak: dxPeak.value * EVALUATION_SAFETY },
    dw: { depth: dwDepth, values: dwValues, peak: dwPeak.value * EVALUATION_SAFETY },
  };
}

// ---------------------------------------------------------------------------
// FFT (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., Theorem 24.2).

/** The next power of two >= n (n >= 1). */
function nextPowerOfTwo(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/**
 * The largest FFT size per axis the class covers: the next power of two at least
 * H + pad_before + pad_after + (OH - 1)*S + (K - 1)*D + 1, which holds the linear
 * correlation of dx (dy upsampled by the stride with the dilated kernel) and of dw (padded x
 * with the upsampled dy) without wrap-around. The bound grows with the size, so it holds for
 * every power-of-two size up to this one.
 */
export function fftSizes(xShape: readonly number[], wShape: readonly number[], dyShape: readonly number[], params: Conv2dParams): [number, number] {
  const axis = (input: number, kernel: number, output: number, stride: number, dilation: number, before: number, after: number) =>
    nextPowerOfTwo(input + before + after + (output - 1) * stride + (kernel - 1) * dilation + 1);
  return [
    axis(xShape[2], wShape[2], dyShape[2], params.stride[0], params.dilation[0], params.pads.top, params.pads.bottom),
    axis(xShape[3], wShape[3], dyShape[3], params.stride[1], params.dilation[1], params.pads.left, params.pads.right),
  ];
}

/** The constants of the FFT bound for one fixture: its dtype and FFT size. */
export interface FftConstants {
  /** epsilon_L = ell*eta_F / (1 - ell*eta_F), eta_F = mu + gamma_4(u)(sqrt 2 + mu), mu = 2u (Infinity once ell*eta_F >= 1). */
  epsilon: number;
  /** sqrt(L), L = L_h * L_w the number of points of the 2D transform. */
  rootL: number;
  /** sqrt(2) * gamma_2(u): a complex product. */
  product: number;
  u: number;
  eta: number;
  levels: number;
}

export function fftConstants(dtype: Dtype, sizes: readonly [number, number], typical = false): FftConstants {
  const { unitRoundoff: u, underflowSpacing: eta } = DTYPE_INFO[dtype];
  const levels = Math.log2(sizes[0]) + Math.log2(sizes[1]);
  const mu = 2 * u;
  const etaF = mu + gamma(4, u) * (Math.SQRT2 + mu);
  // The typical error of an FFT grows like sqrt(log2 L) * u (Higham, section 24.1), used for the `tight` grade only.
  const epsilon = typical ? Math.sqrt(Math.max(1, levels)) * u : levels * etaF >= 1 ? Infinity : (levels * etaF) / (1 - levels * etaF);
  return { epsilon, rootL: Math.sqrt(sizes[0] * sizes[1]), product: Math.SQRT2 * gamma(2, u), u, eta, levels };
}

/** Norms of one operand plane: ||a||_2 and ||a||_1. */
interface PlaneNorms {
  two: number;
  one: number;
}

function planeNorms(data: Float64Array, start: number, size: number): PlaneNorms {
  let squares = 0;
  let one = 0;
  for (let index = start; index < start + size; index++) {
    const value = Math.abs(data[index]);
    squares += value * value;
    one += value;
  }
  return { two: Math.sqrt(squares), one };
}

/**
 * The part of one output plane's bound that the FFT algorithm adds, for the plane
 * sum_{t < q} corr(a_t, b_t) (docs/tolerance.md, FFT):
 *   N_t = min(||a||_2 ||b||_1, ||a||_1 ||b||_2)                (Young: the exact plane's norm)
 *   T_t = eps (||a||_2 ||b||_1 + ||a||_1 ||b||_2) + eps^2 r ||a||_2 ||b||_2
 *         + sqrt2 gamma_2 (1 + eps) min(||a||_2 (||b||_1 + eps r ||b||_2), ||b||_2 (||a||_1 + eps r ||a||_2))
 *   B   = (1 + eps) sum T + eps sum N + (1 + eps) gamma_{q-1} sum (N + T)
 * with r = sqrt(L). Returns B and sum N.
 */
export function fftAlgorithmError(constants: FftConstants, pairs: ReadonlyArray<readonly [PlaneNorms, PlaneNorms]>, inputRounding = 0): { algorithm: number; exactNorm: number } {
  const { epsilon: eps, rootL: r, product } = constants;
  // fpmath: the inputs rounded with unit roundoff v have norms at most (1 + v) times larger,
  // and the exact plane moves by at most (2v + v^2) N (Young's inequality on each difference).
  const grow = 1 + inputRounding;
  let sumT = 0;
  let sumN = 0;
  let sumExact = 0;
  for (const [exactA, exactB] of pairs) {
    sumExact += Math.min(exactA.two * exactB.one, exactA.one * exactB.two);
    const a = { two: exactA.two * grow, one: exactA.one * grow };
    const b = { two: exactB.two * grow, one: exactB.one * grow };
    sumN += Math.min(a.two * b.one, a.one * b.two);
    if (a.two === 0 || b.two === 0) continue; // a zero operand: its products are exactly zero
    const productRounding = product * (1 + eps) * Math.min(a.two * (b.one + eps * r * b.two), b.two * (a.one + eps * r * a.two));
    sumT += eps * (a.two * b.one + a.one * b.two) + eps * eps * r * a.two * b.two + productRounding;
  }
  if (sumT === 0 && sumN === 0) return { algorithm: 0, exactNorm: 0 };
  const sum = gamma(Math.max(0, pairs.length - 1), constants.u);
  const v = inputRounding;
  return { algorithm: (1 + eps) * sumT + eps * sumN + (1 + eps) * sum * (sumN + sumT) + (2 * v + v * v) * sumExact, exactNorm: sumExact };
}

/** The per-plane bounds of dx and dw under the FFT class (db is a plain sum: the direct rule). */
export interface FftPlaneBounds {
  /** Elements of one plane (H*W for dx, KH*KW for dw). */
  planeSize: number;
  /** Per plane (row-major over the leading [N, C] or [Cout, C/G] axes): the algorithm's part B of the bound. */
  algorithm: Float64Array;
}

/**
 * B for every dx plane (n, c): the terms are (dy[n, o], w[o, c']) over the q = Cout/G output
 * channels of c's group; for every dw plane (o, c'): (x[n, c], dy[n, o]) over the q = N images.
 * Finite inputs only (the caller judges a fixture with NaN or Inf inputs by the direct rule).
 */
export function fftPlaneBounds(
  constants: FftConstants,
  x: Float64Tensor,
  w: Float64Tensor,
  dy: Float64Tensor,
  groups: number,
  inputRounding = 0,
): { dx: FftPlaneBounds; dw: FftPlaneBounds } {
  const [batch, channels, height, width] = x.shape;
  const [outChannels, channelsPerGroup, kernelHeight, kernelWidth] = w.shape;
  const [, , outHeight, outWidth] = dy.shape;
  const outPerGroup = outChannels / groups;
  const xSize = height * width;
  const wSize = kernelHeight * kernelWidth;
  const dySize = outHeight * outWidth;
  const xNorms = Array.from({ length: batch * channels }, (_, plane) => planeNorms(x.data, plane * xSize, xSize));
  const wNorms = Array.from({ length: outChannels * channelsPerGroup }, (_, plane) => planeNorms(w.data, plane * wSize, wSize));
  const dyNorms = Array.from({ length: batch * outChannels }, (_, plane) => planeNorms(dy.data, plane * dySize, dySize));
  const dx = new Float64Array(batch * channels);
  for (let n = 0; n < batch; n++) for (let c = 0; c < channels; c++) {
    const group = Math.floor(c / channelsPerGroup);
    const cg = c % channelsPerGroup;
    const pairs: Array<[PlaneNorms, PlaneNorms]> = [];
    for (let og = 0; og < outPerGroup; og++) {
      const o = group * outPerGroup + og;
      pairs.push([dyNorms[n * outChannels + o], wNorms[o * channelsPerGroup + cg]]);
    }
    dx[n * channels + c] = fftAlgorithmError(constants, pairs, inputRounding).algorithm;
  }
  const dw = new Float64Array(outChannels * channelsPerGroup);
  for (let o = 0; o < outChannels; o++) for (let cg = 0; cg < channelsPerGroup; cg++) {
    const c = Math.floor(o / outPerGroup) * channelsPerGroup + cg;
    const pairs: Array<[PlaneNorms, PlaneNorms]> = [];
    for (let n = 0; n < batch; n++) pairs.push([xNorms[n * channels + c], dyNorms[n * outChannels + o]]);
    dw[o * channelsPerGroup + cg] = fftAlgorithmError(constants, pairs, inputRounding).algorithm;
  }
  return { dx: { planeSize: xSize, algorithm: dx }, dw: { planeSize: wSize, algorithm: dw } };
}

/**
 * The whole normwise bound of one plane: ||g - e||_2 <= B + u (||e||_2 + R + B) + R + floor,
 * R = 2 gamma_k(2^-53) ||M||_2 the float64 reference's own error (M the plane's magnitudes),
 * u(...) the final rounding into the dtype, floor = (2 ell + q + 4) * L * eta for underflow.
 */
export function fftPlaneBound(constants: FftConstants, algorithm: number, expectedNorm: number, magnitudeNorm: number, accumulationLength: number, terms: number): number {
  const reference = magnitudeNorm === 0 ? 0 : 2 * gamma(Math.max(1, accumulationLength), 2 ** -53) * magnitudeNorm;
  const floor = (2 * constants.levels + terms + 4) * constants.rootL * constants.rootL * constants.eta;
  return algorithm + constants.u * (expectedNorm + reference + algorithm) + reference + floor;
}

// ---------------------------------------------------------------------------
// Validation of a declared class (module export, `cmd:` handshake, replay adapter.json).

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
}

/**
 * Check a declared `precision` ({ algorithm, tile?, fpmath }); problems are pushed as
 * `precision...: expected ..., found ...` lines. Missing fields take the defaults
 * (direct, strict); winograd needs a tile from WINOGRAD_TILES.
 */
export function validatePrecision(value: unknown, problems: string[]): PrecisionClass | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`precision: expected an object { algorithm?, tile?, fpmath? }, found ${describe(value)}`);
    return null;
  }
  const fields = value as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(fields)) {
    if (!['algorithm', 'tile', 'fpmath'].includes(key)) problems.push(`precision.${key}: unknown field; expected algorithm, tile, fpmath`);
  }
  const algorithm = fields.algorithm ?? 'direct';
  if (typeof algorithm !== 'string' || !(PRECISION_ALGORITHMS as readonly string[]).includes(algorithm)) {
    problems.push(`precision.algorithm: expected one of ${PRECISION_ALGORITHMS.join(', ')}, found ${describe(fields.algorithm)}`);
  }
  const fpmath = fields.fpmath ?? 'strict';
  if (typeof fpmath !== 'string' || !(FPMATH_MODES as readonly string[]).includes(fpmath)) {
    problems.push(`precision.fpmath: expected one of ${FPMATH_MODES.join(', ')}, found ${describe(fields.fpmath)}`);
  }
  let tile: WinogradTile | undefined;
  const tiles = WINOGRAD_TILES.map((candidate) => `{ output: ${candidate.output}, kernel: ${candidate.kernel} }`).join(' or ');
  if (algorithm === 'winograd') {
    const declaredTile = fields.tile as Partial<WinogradTile> | undefined;
    tile = WINOGRAD_TILES.find((candidate) => candidate.output === declaredTile?.output && candidate.kernel === declaredTile?.kernel);
    if (tile === undefined) problems.push(`precision.tile: expected ${tiles} for algorithm winograd, found ${describe(fields.tile)}`);
  } else if (fields.tile !== undefined) {
    problems.push(`precision.tile: only for algorithm winograd, found a tile with algorithm ${describe(algorithm)}`);
  }
  if (problems.length > before) return null;
  return { algorithm: algorithm as PrecisionAlgorithm, ...(tile !== undefined ? { tile: { ...tile } } : {}), fpmath: fpmath as Fpmath };
}
