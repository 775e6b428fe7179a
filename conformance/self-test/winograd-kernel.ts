/**
 * A genuine Winograd F(m x m, 3 x 3) Conv2d backward (dx and dw; db directly) in
 * the fixture's dtype: every transform constant is rounded to the dtype and every
 * product and sum is rounded (float16/bfloat16 by the fast roundings, float32 by
 * Math.fround). Stride 1, dilation 1, 3x3 kernels only; `winogradSupport` declines
 * the rest per fixture. The bound it must meet: src/precision-class.ts.
 *
 *   dx: forward algorithm on dy padded by 2 - pad, with the kernel rotated by 180 degrees,
 *       A^T [ sum_o (G w_o G^T) .* (B^T d_o B) ] A per m x m output tile;
 *   dw: transposed algorithm, G^T [ sum_(n, tiles) (A dY A^T) .* (B^T x B) ] G.
 *
 * An optional input rounding (tf32/bf16 fpmath) is applied to x, w, dy first.
 */
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { winogradApplies, winogradMatrices, type WinogradTile } from '../../src/precision-class.js';
import type { BackwardRequest, BackwardResult, Dtype, FixtureMeta } from '../../src/types.js';
import { roundToBfloat16, roundToFloat16 } from './fast-rounding.js';

export type Rounding = (value: number) => number;

/** The rounding of one arithmetic result in a dtype. */
export function dtypeRounding(dtype: Dtype): Rounding {
  if (dtype === 'float32') return Math.fround;
  if (dtype === 'float16') return roundToFloat16;
  if (dtype === 'bfloat16') return roundToBfloat16;
  return (value) => value;
}

/** Round to tf32 (11 significand bits, float32's exponent range), nearest even. */
export function roundToTf32(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const exponent = Math.max(Math.floor(Math.log2(Math.abs(value))), -126);
  let e = exponent;
  if (2 ** e > Math.abs(value) && e > -126) e -= 1;
  const spacing = 2 ** (e - 10);
  const scaled = value / spacing;
  const floor = Math.floor(scaled);
  const fraction = scaled - floor;
  const steps = fraction > 0.5 ? floor + 1 : fraction < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  const rounded = steps * spacing;
  return Math.abs(rounded) > 3.4028234663852886e38 ? (value > 0 ? Infinity : -Infinity) : rounded;
}

/** A rounded T X T^T (T t x rows, X rows x rows), each product and sum rounded. */
function transform(T: number[][], X: Float64Array, rows: number, round: Rounding): Float64Array {
  const t = T.length;
  const half = new Float64Array(t * rows);
  for (let i = 0; i < t; i++) for (let j = 0; j < rows; j++) {
    let sum = 0;
    for (let a = 0; a < rows; a++) if (T[i][a] !== 0) sum = round(sum + round(T[i][a] * X[a * rows + j]));
    half[i * rows + j] = sum;
  }
  const result = new Float64Array(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) {
    let sum = 0;
    for (let b = 0; b < rows; b++) if (T[j][b] !== 0) sum = round(sum + round(half[i * rows + b] * T[j][b]));
    result[i * t + j] = sum;
  }
  return result;
}

/** Why a fixture is outside the Winograd tile's reach, or true. */
export function winogradSupport(tile: WinogradTile, meta: FixtureMeta): true | string {
  if (!winogradApplies(tile, meta.shapes.w, meta.params)) return `winograd F(${tile.output}x${tile.output},3x3) needs a 3x3 kernel, stride 1 and dilation 1`;
  // The transforms mix every value of a tile into every output of it: one Inf or NaN input turns
  // finite outputs of its tile into NaN (Inf - Inf), which the NaN/Inf rules rightly fail.
  if (meta.family === 'special') return 'winograd spreads non-finite inputs across a tile (NaN where the direct sum is finite)';
  return true;
}

export function winogradBackward(tile: WinogradTile, request: BackwardRequest, inputRounding?: Rounding): BackwardResult {
  const { x: xTensor, w: wTensor, dy: dyTensor, params } = request;
  const dtype = xTensor.dtype;
  const round = dtypeRounding(dtype);
  const prepare = (values: Float64Array): Float64Array => (inputRounding === undefined ? values : values.map(inputRounding));
  const x = prepare(toFloat64Array(xTensor.data, dtype));
  const w = prepare(toFloat64Array(wTensor.data, dtype));
  const dy = prepare(toFloat64Array(dyTensor.data, dtype));
  const matrices = winogradMatrices(tile);
  const roundMatrix = (matrix: number[][]): number[][] => matrix.map((row) => row.map(round));
  const BT = roundMatrix(matrices.BT);
  const G = roundMatrix(matrices.G);
  const AT = roundMatrix(matrices.AT);
  const A = AT[0].map((_, column) => AT.map((row) => row[column]));
  const GT = G[0].map((_, column) => G.map((row) => row[column]));
  const m = tile.output;
  const r = 3;
  const n = m + r - 1;
  const [batch, channels, height, width] = xTensor.shape;
  const [outChannels, channelsPerGroup] = wTensor.shape;
  const [, , outHeight, outWidth] = dyTensor.shape;
  const outPerGroup = outChannels / params.groups;
  const { top, left } = params.pads;

  const kernels: Float64Array[] = [];
  for (let o = 0; o < outChannels; o++) for (let cg = 0; cg < channelsPerGroup; cg++) {
    const g = new Float64Array(r * r);
    for (let kh = 0; kh < r; kh++) for (let kw = 0; kw < r; kw++) g[kh * r + kw] = w[((o * channelsPerGroup + cg) * r + (r - 1 - kh)) * r + (r - 1 - kw)];
    kernels.push(transform(G, g, r, round));
  }
  const dx = new Float64Array(x.length);
  const tileData = new Float64Array(n * n);
  const accumulated = new Float64Array(n * n);
  for (let b = 0; b < batch; b++) for (let c = 0; c < channels; c++) {
    const group = Math.floor(c / channelsPerGroup);
    const cg = c % channelsPerGroup;
    for (let tileRow = 0; tileRow < height; tileRow += m) for (let tileColumn = 0; tileColumn < width; tileColumn += m) {
      accumulated.fill(0);
      for (let og = 0; og < outPerGroup; og++) {
        const o = group * outPerGroup + og;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
          const row = tileRow + i - (r - 1 - top);
          const column = tileColumn + j - (r - 1 - left);
          const inside = row >= 0 && row < outHeight && column >= 0 && column < outWidth;
          tileData[i * n + j] = inside ? dy[((b * outChannels + o) * outHeight + row) * outWidth + column] : 0;
        }
        const V = transform(BT, tileData, n, round);
        const U = kernels[o * channelsPerGroup + cg];
        for (let index = 0; index < n * n; index++) accumulated[index] = round(accumulated[index] + round(U[index] * V[index]));
      }
      const Y = transform(AT, accumulated, n, round);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
        if (tileRow + i < height && tileColumn + j < width) dx[((b * channels + c) * height + tileRow + i) * width + tileColumn + j] = Y[i * m + j];
      }
    }
  }

  const dw = new Float64Array(w.length);
  const gradientTile = new Float64Array(m * m);
  const sum = new Float64Array(n * n);
  for (let o = 0; o < outChannels; o++) for (let cg = 0; cg < channelsPerGroup; cg++) {
    const c = Math.floor(o / outPerGroup) * channelsPerGroup + cg;
    sum.fill(0);
    for (let b = 0; b < batch; b++) for (let tileRow = 0; tileRow < outHeight; tileRow += m) for (let tileColumn = 0; tileColumn < outWidth; tileColumn += m) {
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
        const row = tileRow + i;
        const column = tileColumn + j;
        gradientTile[i * m + j] = row < outHeight && column < outWidth ? dy[((b * outChannels + o) * outHeight + row) * outWidth + column] : 0;
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        const row = tileRow + i - top;
        const column = tileColumn + j - left;
        tileData[i * n + j] = row >= 0 && row < height && column >= 0 && column < width ? x[((b * channels + c) * height + row) * width + column] : 0;
      }
      const U = transform(A, gradientTile, m, round);
      const V = transform(BT, tileData, n, round);
      for (let index = 0; index < n * n; index++) sum[index] = round(sum[index] + round(U[index] * V[index]));
    }
    const Y = transform(GT, sum, n, round);
    for (let index = 0; index < r * r; index++) dw[(o * channelsPerGroup + cg) * r * r + index] = Y[index];
  }

  const db = new Float64Array(outChannels);
  for (let b = 0; b < batch; b++) for (let o = 0; o < outChannels; o++) {
    for (let index = 0; index < outHeight * outWidth; index++) db[o] = round(db[o] + dy[(b * outChannels + o) * outHeight * outWidth + index]);
  }
  return {
    dx: { dtype, shape: xTensor.shape, data: fromFloat64Array(dx, dtype) },
    dw: { dtype, shape: wTensor.shape, data: fromFloat64Array(dw, dtype) },
    db: { dtype, shape: [outChannels], data: fromFloat64Array(db, dtype) },
  };
}
