import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'writes-inputs',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    const result = backward(request);
    if (misbehavesOn(request.id)) request.dy.data.fill(0);
    return result;
  },
};
