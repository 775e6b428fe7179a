import { backward } from './reference.mjs';
export default {
  name: 'support-flags',
  dtypes: ['float32', 'float64'],
  supports: { dilation: false },
  conv2dBackward: (request) => backward(request),
};
