import { backward } from './reference.mjs';

export default {
  name: 'reference-nhwc-hwio',
  layout: 'NHWC',
  filterLayout: 'HWIO',
  dtypes: ['float32', 'float64'],
  async conv2dBackward(request) {
    return backward(request, 'NHWC', 'HWIO');
  },
};
