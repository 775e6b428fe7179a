import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'throws',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) throw new RangeError(`deliberate failure on ${request.id}`);
    return backward(request);
  },
};
