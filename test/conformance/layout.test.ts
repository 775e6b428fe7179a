/**
 * Layout conversions, checked element by element against the index formulas of
 * each layout written out here (independently of conformance/layout.ts).
 */
import fc from 'fast-check';
import t from 'tap';
import { adapterShape, fromAdapterLayout, inverseAxes, layoutLabel, permute4, toAdapterLayout, FILTER_AXES, ACTIVATION_AXES } from '../../conformance/layout.js';
import type { Dtype, FilterLayout, Tensor } from '../../src/types.js';

/** A tensor whose element at flat position p is p + 1 (distinct values, exact in every dtype used here). */
function counting(shape: number[], dtype: Dtype = 'float32'): Tensor {
  const size = shape.reduce((product, dimension) => product * dimension, 1);
  const data = dtype === 'float64' ? new Float64Array(size) : dtype === 'float32' ? new Float32Array(size) : new Uint16Array(size);
  for (let index = 0; index < size; index++) data[index] = index + 1;
  return { dtype, shape, data };
}

const nchw = (shape: number[]) => (n: number, c: number, h: number, w: number) => ((n * shape[1] + c) * shape[2] + h) * shape[3] + w;
const oihw = nchw; // same row-major formula over (o, i, h, w)

const dimension = fc.integer({ min: 1, max: 4 });
const shape4 = fc.tuple(dimension, dimension, dimension, dimension);

t.test('NCHW -> NHWC: NHWC[n, h, w, c] = NCHW[n, c, h, w], and back', async (t) => {
  fc.assert(
    fc.property(shape4, ([batch, channels, height, width]) => {
      const shape = [batch, channels, height, width];
      const source = counting(shape);
      const converted = toAdapterLayout('x', source, { layout: 'NHWC', filterLayout: 'OIHW' });
      if (converted.shape.join() !== [batch, height, width, channels].join()) return false;
      const at = nchw(shape);
      for (let n = 0; n < batch; n++)
        for (let h = 0; h < height; h++)
          for (let w = 0; w < width; w++)
            for (let c = 0; c < channels; c++) {
              if (converted.data[((n * height + h) * width + w) * channels + c] !== source.data[at(n, c, h, w)]) return false;
            }
      const back = fromAdapterLayout('dx', converted, { layout: 'NHWC', filterLayout: 'OIHW' });
      return back.shape.join() === shape.join() && back.data.every((value, index) => value === source.data[index]);
    }),
    { seed: 101, numRuns: 100 },
  );
  t.pass(`property held for 100 seeded cases`);
});

const filterFormulas: Record<Exclude<FilterLayout, 'OIHW'>, { shape: (o: number, i: number, h: number, w: number) => number[]; index: (s: number[], o: number, i: number, h: number, w: number) => number }> = {
  // HWIO[h, w, i, o]
  HWIO: { shape: (o, i, h, w) => [h, w, i, o], index: (s, o, i, h, w) => ((h * s[1] + w) * s[2] + i) * s[3] + o },
  // OHWI[o, h, w, i]
  OHWI: { shape: (o, i, h, w) => [o, h, w, i], index: (s, o, i, h, w) => ((o * s[1] + h) * s[2] + w) * s[3] + i },
};

for (const layout of ['HWIO', 'OHWI'] as const) {
  t.test(`OIHW -> ${layout} follows its index formula, and back`, async (t) => {
    const formula = filterFormulas[layout];
    fc.assert(
      fc.property(shape4, ([outChannels, inChannels, kernelHeight, kernelWidth]) => {
        const shape = [outChannels, inChannels, kernelHeight, kernelWidth];
        const source = counting(shape, 'float64');
        const layouts = { layout: 'NCHW' as const, filterLayout: layout };
        const converted = toAdapterLayout('w', source, layouts);
        const expectedShape = formula.shape(outChannels, inChannels, kernelHeight, kernelWidth);
        if (converted.shape.join() !== expectedShape.join()) return false;
        if (adapterShape('dw', shape, layouts).join() !== expectedShape.join()) return false;
        const at = oihw(shape);
        for (let o = 0; o < outChannels; o++)
          for (let i = 0; i < inChannels; i++)
            for (let h = 0; h < kernelHeight; h++)
              for (let w = 0; w < kernelWidth; w++) {
                if (converted.data[formula.index(expectedShape, o, i, h, w)] !== source.data[at(o, i, h, w)]) return false;
              }
        const back = fromAdapterLayout('dw', converted, layouts);
        return back.shape.join() === shape.join() && back.data.every((value, index) => value === source.data[index]);
      }),
      { seed: 102, numRuns: 100 },
    );
    t.pass(`property held for 100 seeded cases`);
  });
}

t.test('identity layouts return the tensor itself; db never changes', async (t) => {
  const x = counting([1, 2, 3, 4]);
  t.equal(toAdapterLayout('x', x, { layout: 'NCHW', filterLayout: 'OIHW' }), x);
  const db = counting([5]);
  t.equal(toAdapterLayout('db', db, { layout: 'NHWC', filterLayout: 'HWIO' }), db);
  t.same(adapterShape('db', [5], { layout: 'NHWC', filterLayout: 'HWIO' }), [5]);
  t.equal(layoutLabel('db', { layout: 'NHWC', filterLayout: 'HWIO' }), '[Cout]');
  t.equal(layoutLabel('dw', { layout: 'NHWC', filterLayout: 'HWIO' }), 'HWIO');
  t.equal(layoutLabel('dy', { layout: 'NHWC', filterLayout: 'HWIO' }), 'NHWC');
});

t.test('permutation keeps the typed-array type (float16 bits stay Uint16Array)', async (t) => {
  const bits = counting([1, 2, 2, 3], 'float16');
  const converted = permute4(bits, ACTIVATION_AXES.NHWC);
  t.ok(converted.data instanceof Uint16Array);
  t.equal(converted.dtype, 'float16');
});

t.test('inverseAxes composes to the identity for every layout', async (t) => {
  for (const axes of [...Object.values(ACTIVATION_AXES), ...Object.values(FILTER_AXES)]) {
    const inverse = inverseAxes(axes);
    t.same(
      axes.map((_, position) => inverse[axes[position]]),
      [0, 1, 2, 3],
    );
  }
});
