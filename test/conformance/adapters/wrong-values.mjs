import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'wrong-values',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    const result = backward(request);
    // One element of dw off by a lot: a scoring failure, not an error.
    if (misbehavesOn(request.id)) result.dw.data[1] += 1;
    return result;
  },
};
