import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'hangs-promise',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) return new Promise(() => {});
    return backward(request);
  },
};
