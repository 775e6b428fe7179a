import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'returns-nan',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    const result = backward(request);
    if (misbehavesOn(request.id)) result.dx.data[0] = NaN;
    return result;
  },
};
