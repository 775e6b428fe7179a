import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'wrong-shape',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    const result = backward(request);
    // dx with its shape reversed (same element count, never the expected shape here).
    if (misbehavesOn(request.id)) result.dx.shape = [...result.dx.shape].reverse();
    return result;
  },
};
