import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'rejects',
  dtypes: ['float32', 'float64'],
  async conv2dBackward(request) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (misbehavesOn(request.id)) throw new Error('rejected asynchronously');
    return backward(request);
  },
};
