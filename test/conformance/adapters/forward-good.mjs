// A correct forward and backward pair in NHWC/HWIO, float32 and float64: y is scored, and
// --gradcheck runs in float64 (the adapter declares it).
import { backward, forward } from './reference.mjs';

export default {
  name: 'forward-good',
  layout: 'NHWC',
  filterLayout: 'HWIO',
  dtypes: ['float32', 'float64'],
  conv2dBackward: (request) => backward(request, 'NHWC', 'HWIO'),
  conv2dForward: (request) => forward(request, 'NHWC', 'HWIO'),
};
