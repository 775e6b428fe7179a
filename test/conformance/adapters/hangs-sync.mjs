import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'hangs-sync',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) for (;;);
    return backward(request);
  },
};
