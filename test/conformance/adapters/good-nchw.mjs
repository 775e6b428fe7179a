import { backward } from './reference.mjs';

export default {
  name: 'reference-nchw',
  dtypes: ['float32', 'float64'],
  conv2dBackward: (request) => backward(request),
};
