import { ConformanceError } from '../errors.js';
import { shapeSize } from '../geometry.js';
import type { Float64Tensor } from '../types.js';

/** Check at the oracle's boundary that a tensor is float64 with the expected shape and length. */
export function requireFloat64Tensor(tensor: Float64Tensor, name: string, shape: number[]): void {
  if (!(tensor.data instanceof Float64Array)) {
    throw new ConformanceError('E_GEOMETRY', `${name}: the oracle expects Float64Array data, found ${Object.prototype.toString.call(tensor.data)}`, { name });
  }
  const length = shapeSize(shape);
  if (tensor.data.length !== length) {
    throw new ConformanceError('E_GEOMETRY', `${name}: shape [${shape.join(', ')}] needs ${length} elements, found ${tensor.data.length}`, {
      name,
      shape,
      length: tensor.data.length,
    });
  }
}
