import { backward } from './reference.mjs';
export default {
  name: 'supports-function',
  dtypes: ['float32', 'float64'],
  supports(fixture) {
    return fixture.params.groups === 1 ? true : `groups=${fixture.params.groups} not implemented`;
  },
  conv2dBackward: (request) => backward(request),
};
