/**
 * Layout conversion between the corpus layouts (NCHW activations, OIHW filters)
 * and the layouts an adapter declares.
 *
 * A layout is described by the canonical axis found at each of its positions:
 *   NCHW [0, 1, 2, 3]   NHWC [0, 2, 3, 1]                 (canonical N=0, C=1, H=2, W=3)
 *   OIHW [0, 1, 2, 3]   HWIO [2, 3, 1, 0]   OHWI [0, 2, 3, 1]  (canonical O=0, I=1, H=2, W=3)
 * so NHWC[n, h, w, c] = NCHW[n, c, h, w], HWIO[h, w, i, o] = OIHW[o, i, h, w],
 * OHWI[o, h, w, i] = OIHW[o, i, h, w]. db ([Cout]) has no layout.
 */
import { ConformanceError } from '../src/errors.js';
import { shapeStrides } from '../src/geometry.js';
import type { ActivationLayout, FilterLayout, InputName, OutputName, Tensor, TensorData } from '../src/types.js';

/** The canonical axis at each position of a 4-d layout. */
export type AxisOrder = readonly [number, number, number, number];

export const ACTIVATION_AXES: Record<ActivationLayout, AxisOrder> = {
  NCHW: [0, 1, 2, 3],
  NHWC: [0, 2, 3, 1],
};

export const FILTER_AXES: Record<FilterLayout, AxisOrder> = {
  OIHW: [0, 1, 2, 3],
  HWIO: [2, 3, 1, 0],
  OHWI: [0, 2, 3, 1],
};

/** The layouts an adapter works in. */
export interface AdapterLayouts {
  layout: ActivationLayout;
  filterLayout: FilterLayout;
}

function isIdentity(axes: AxisOrder): boolean {
  return axes[0] === 0 && axes[1] === 1 && axes[2] === 2 && axes[3] === 3;
}

/** The inverse order: position of each canonical axis. */
export function inverseAxes(axes: AxisOrder): AxisOrder {
  const inverse = [0, 0, 0, 0];
  for (let position = 0; position < 4; position++) inverse[axes[position]] = position;
  return inverse as unknown as AxisOrder;
}

/** The shape of a tensor after `permute4(tensor, axes)`. */
export function permutedShape(shape: readonly number[], axes: AxisOrder): number[] {
  return [shape[axes[0]], shape[axes[1]], shape[axes[2]], shape[axes[3]]];
}

function allocateLike(data: TensorData, length: number): TensorData {
  if (data instanceof Float64Array) return new Float64Array(length);
  if (data instanceof Float32Array) return new Float32Array(length);
  return new Uint16Array(length);
}

/**
 * Transpose a 4-d tensor: result position i holds source axis axes[i], i.e.
 * result[i0, i1, i2, i3] = source[j] with j[axes[k]] = ik. Returns the tensor
 * itself for the identity order.
 */
export function permute4(tensor: Tensor, axes: AxisOrder): Tensor {
  if (tensor.shape.length !== 4) {
    throw new ConformanceError('E_USAGE', `permute4: expected a 4-d tensor, found shape [${tensor.shape.join(', ')}]`, { shape: tensor.shape });
  }
  if (isIdentity(axes)) return tensor;
  const shape = permutedShape(tensor.shape, axes);
  const sourceStrides = shapeStrides(tensor.shape);
  const stride0 = sourceStrides[axes[0]];
  const stride1 = sourceStrides[axes[1]];
  const stride2 = sourceStrides[axes[2]];
  const stride3 = sourceStrides[axes[3]];
  const [size0, size1, size2, size3] = shape;
  const source = tensor.data;
  const result = allocateLike(source, source.length);
  let target = 0;
  for (let i0 = 0; i0 < size0; i0++) {
    const base0 = i0 * stride0;
    for (let i1 = 0; i1 < size1; i1++) {
      const base1 = base0 + i1 * stride1;
      for (let i2 = 0; i2 < size2; i2++) {
        let position = base1 + i2 * stride2;
        for (let i3 = 0; i3 < size3; i3++) {
          result[target++] = source[position];
          position += stride3;
        }
      }
    }
  }
  return { dtype: tensor.dtype, shape, data: result };
}

function axesFor(name: InputName | OutputName, layouts: AdapterLayouts): AxisOrder | null {
  if (name === 'db') return null;
  if (name === 'w' || name === 'dw') return FILTER_AXES[layouts.filterLayout];
  return ACTIVATION_AXES[layouts.layout];
}

/** Convert a corpus tensor (NCHW / OIHW) named `name` into the adapter's layout. */
export function toAdapterLayout(name: InputName | OutputName, tensor: Tensor, layouts: AdapterLayouts): Tensor {
  const axes = axesFor(name, layouts);
  return axes === null ? tensor : permute4(tensor, axes);
}

/** Convert an adapter tensor named `name` back to the corpus layout (NCHW / OIHW). */
export function fromAdapterLayout(name: InputName | OutputName, tensor: Tensor, layouts: AdapterLayouts): Tensor {
  const axes = axesFor(name, layouts);
  return axes === null ? tensor : permute4(tensor, inverseAxes(axes));
}

/** The shape a corpus shape takes in the adapter's layout. */
export function adapterShape(name: InputName | OutputName, canonicalShape: readonly number[], layouts: AdapterLayouts): number[] {
  const axes = axesFor(name, layouts);
  return axes === null ? [...canonicalShape] : permutedShape(canonicalShape, axes);
}

/** The layout name of a tensor for messages: 'NHWC', 'HWIO', or '[Cout]' for db. */
export function layoutLabel(name: InputName | OutputName, layouts: AdapterLayouts): string {
  if (name === 'db') return '[Cout]';
  if (name === 'w' || name === 'dw') return layouts.filterLayout;
  return layouts.layout;
}
