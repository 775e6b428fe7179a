import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'aborts',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) process.abort();
    return backward(request);
  },
};
