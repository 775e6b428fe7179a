// A correct backward whose forward is off by one in its first element: y fails where the
// runner scores it (fuzz cases, corpus 1.2.0), the gradients pass.
import { backward, forward } from './reference.mjs';

export default {
  name: 'forward-y-off',
  dtypes: ['float32'],
  conv2dBackward: (request) => backward(request),
  conv2dForward(request) {
    const result = forward(request);
    result.y.data[0] += 1;
    return result;
  },
};
