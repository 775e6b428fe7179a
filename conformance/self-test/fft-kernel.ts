/**
 * A Conv2d backward by FFT, every real operation rounded to the fixture's dtype (float16: to
 * float32, see fftBackward; the
 * self-test's correct implementation of the FFT precision class, src/precision-class.ts):
 * radix-2 complex FFTs (decimation in time, twiddles computed in float64 and rounded to
 * the dtype) of power-of-two sizes L_h x L_w = fftSizes(...), row-column in 2D.
 *
 *   dx[n, c]   = crop_top,left( IFFT( sum_o FFT(dy_up[n, o]) .* FFT(w_dil[o, c']) ) )
 *   dw[o, c']  = sample_(kh*D, kw*D)( IFFT( sum_n FFT(x_pad[n, c]) .* conj(FFT(dy_up[n, o])) ) )
 *
 * dy_up is dy with S - 1 zeros between its elements (the stride), w_dil the kernel with
 * D - 1 zeros between its taps (the dilation), x_pad x placed after the top/left pads. The
 * first is a full linear convolution, the second a linear correlation; the sizes hold both
 * without wrap-around. db is a direct sum in the dtype.
 */
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { fftSizes } from '../../src/precision-class.js';
import type { BackwardRequest, BackwardResult, FixtureMeta } from '../../src/types.js';
import { dtypeRounding, type Rounding } from './winograd-kernel.js';

/** A 2D complex array of L_h x L_w points, row-major. */
interface Plane {
  re: Float64Array;
  im: Float64Array;
}

/** Twiddles exp(-2 pi i k / n), k < n/2, rounded to the dtype. */
function twiddles(n: number, round: Rounding): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(n / 2);
  const im = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    re[k] = round(Math.cos((-2 * Math.PI * k) / n));
    im[k] = round(Math.sin((-2 * Math.PI * k) / n));
  }
  return { re, im };
}

/**
 * In-place radix-2 FFT of n points at re[offset + j*stride], im[...] (inverse: conjugate twiddles,
 * no scaling). Each butterfly: t = w*b (4 products, 2 sums, each rounded), a' = a + t, b' = a - t.
 */
function fft1d(re: Float64Array, im: Float64Array, offset: number, stride: number, n: number, table: { re: Float64Array; im: Float64Array }, inverse: boolean, round: Rounding): void {
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const a = offset + i * stride;
      const b = offset + j * stride;
      [re[a], re[b]] = [re[b], re[a]];
      [im[a], im[b]] = [im[b], im[a]];
    }
  }
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = table.re[k * step];
        const wi = inverse ? -table.im[k * step] : table.im[k * step];
        const a = offset + (start + k) * stride;
        const b = offset + (start + k + half) * stride;
        const tr = round(round(wr * re[b]) - round(wi * im[b]));
        const ti = round(round(wr * im[b]) + round(wi * re[b]));
        const ar = re[a];
        const ai = im[a];
        re[a] = round(ar + tr);
        im[a] = round(ai + ti);
        re[b] = round(ar - tr);
        im[b] = round(ai - ti);
      }
    }
  }
}

/** 2D FFT in place: every row, then every column. */
function fft2d(plane: Plane, rows: number, columns: number, tables: { rows: ReturnType<typeof twiddles>; columns: ReturnType<typeof twiddles> }, inverse: boolean, round: Rounding): void {
  for (let row = 0; row < rows; row++) fft1d(plane.re, plane.im, row * columns, 1, columns, tables.columns, inverse, round);
  for (let column = 0; column < columns; column++) fft1d(plane.re, plane.im, column, columns, rows, tables.rows, inverse, round);
}

/** Whether the FFT implementation takes a fixture: it declines the special family (one NaN or Inf spreads over a whole plane). */
export function fftSupport(meta: FixtureMeta): true | string {
  if (meta.family === 'special') return 'an FFT spreads a non-finite input over the whole plane (NaN where the direct sum is finite)';
  return true;
}

export function fftBackward(request: BackwardRequest): BackwardResult {
  const { x: xTensor, w: wTensor, dy: dyTensor, params } = request;
  const dtype = xTensor.dtype;
  // float16 computes in float32 and rounds once at the end (a higher precision, which the bound admits):
  // unscaled frequency-domain sums of products reach ||x||_1 ||dy||_1, past float16's 65504.
  // bfloat16 has float32's range and computes in bfloat16 throughout.
  const round = dtypeRounding(dtype === 'float16' ? 'float32' : dtype);
  const x = toFloat64Array(xTensor.data, dtype);
  const w = toFloat64Array(wTensor.data, dtype);
  const dy = toFloat64Array(dyTensor.data, dtype);
  const [batch, channels, height, width] = xTensor.shape;
  const [outChannels, channelsPerGroup, kernelHeight, kernelWidth] = wTensor.shape;
  const [, , outHeight, outWidth] = dyTensor.shape;
  const outPerGroup = outChannels / params.groups;
  const [strideH, strideW] = params.stride;
  const [dilationH, dilationW] = params.dilation;
  const { top, left } = params.pads;
  const [rows, columns] = fftSizes(xTensor.shape, wTensor.shape, dyTensor.shape, params);
  const points = rows * columns;
  const tables = { rows: twiddles(rows, round), columns: twiddles(columns, round) };
  const transform = (place: (re: Float64Array) => void): Plane => {
    const plane = { re: new Float64Array(points), im: new Float64Array(points) };
    place(plane.re);
    fft2d(plane, rows, columns, tables, false, round);
    return plane;
  };

  const dyHat = Array.from({ length: batch * outChannels }, (_, p) =>
    transform((re) => {
      for (let i = 0; i < outHeight; i++) for (let j = 0; j < outWidth; j++) re[i * strideH * columns + j * strideW] = dy[(p * outHeight + i) * outWidth + j];
    }),
  );
  const wHat = Array.from({ length: outChannels * channelsPerGroup }, (_, p) =>
    transform((re) => {
      for (let i = 0; i < kernelHeight; i++) for (let j = 0; j < kernelWidth; j++) re[i * dilationH * columns + j * dilationW] = w[(p * kernelHeight + i) * kernelWidth + j];
    }),
  );
  const xHat = Array.from({ length: batch * channels }, (_, p) =>
    transform((re) => {
      for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) re[(i + top) * columns + j + left] = x[(p * height + i) * width + j];
    }),
  );

  /** sum of a .* b (b conjugated for a correlation) over the pairs, each product and sum rounded, then the inverse FFT scaled by 1/L. */
  const inverseOfSum = (pairs: Array<[Plane, Plane]>, conjugate: boolean): Float64Array => {
    const sum = { re: new Float64Array(points), im: new Float64Array(points) };
    for (const [a, b] of pairs) {
      for (let k = 0; k < points; k++) {
        const bi = conjugate ? -b.im[k] : b.im[k];
        const pr = round(round(a.re[k] * b.re[k]) - round(a.im[k] * bi));
        const pi = round(round(a.re[k] * bi) + round(a.im[k] * b.re[k]));
        sum.re[k] = round(sum.re[k] + pr);
        sum.im[k] = round(sum.im[k] + pi);
      }
    }
    fft2d(sum, rows, columns, tables, true, round);
    const scale = 1 / points; // a power of two: exact
    return sum.re.map((value) => round(value * scale));
  };

  const dx = new Float64Array(x.length);
  for (let n = 0; n < batch; n++) for (let c = 0; c < channels; c++) {
    const group = Math.floor(c / channelsPerGroup);
    const pairs: Array<[Plane, Plane]> = [];
    for (let og = 0; og < outPerGroup; og++) {
      const o = group * outPerGroup + og;
      pairs.push([dyHat[n * outChannels + o], wHat[o * channelsPerGroup + (c % channelsPerGroup)]]);
    }
    const z = inverseOfSum(pairs, false);
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) dx[((n * channels + c) * height + i) * width + j] = z[(i + top) * columns + j + left];
  }
  const dw = new Float64Array(w.length);
  for (let o = 0; o < outChannels; o++) for (let cg = 0; cg < channelsPerGroup; cg++) {
    const c = Math.floor(o / outPerGroup) * channelsPerGroup + cg;
    const pairs: Array<[Plane, Plane]> = [];
    for (let n = 0; n < batch; n++) pairs.push([xHat[n * channels + c], dyHat[n * outChannels + o]]);
    const z = inverseOfSum(pairs, true);
    for (let i = 0; i < kernelHeight; i++) for (let j = 0; j < kernelWidth; j++) dw[((o * channelsPerGroup + cg) * kernelHeight + i) * kernelWidth + j] = z[i * dilationH * columns + j * dilationW];
  }
  const db = new Float64Array(outChannels);
  for (let n = 0; n < batch; n++) for (let o = 0; o < outChannels; o++) for (let index = 0; index < outHeight * outWidth; index++) {
    db[o] = round(db[o] + dy[(n * outChannels + o) * outHeight * outWidth + index]);
  }
  return {
    dx: { dtype, shape: [...xTensor.shape], data: fromFloat64Array(dx, dtype) },
    dw: { dtype, shape: [...wTensor.shape], data: fromFloat64Array(dw, dtype) },
    db: { dtype, shape: [outChannels], data: fromFloat64Array(db, dtype) },
  };
}
