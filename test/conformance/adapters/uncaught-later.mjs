import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'uncaught-later',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) {
      // Throws from a timer while the returned promise is still pending.
      return new Promise(() => {
        setTimeout(() => {
          throw new TypeError('thrown from a timer');
        }, 1);
      });
    }
    return backward(request);
  },
};
