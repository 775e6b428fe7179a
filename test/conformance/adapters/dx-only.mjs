import { backward } from './reference.mjs';
export default {
  name: 'dx-only',
  dtypes: ['float32', 'float64'],
  outputs: ['dx'],
  conv2dBackward(request) {
    return { dx: backward(request).dx };
  },
};
