import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'wrong-dtype',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    const result = backward(request);
    if (misbehavesOn(request.id)) result.dw.dtype = request.x.dtype === 'float32' ? 'float64' : 'float32';
    return result;
  },
};
