import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'exits-1',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) {
      // Print what a passing run would print, then leave: the runner must not count this.
      console.log('6 passed, 0 failed, 0 skipped, 0 errors');
      process.exit(1);
    }
    return backward(request);
  },
};
