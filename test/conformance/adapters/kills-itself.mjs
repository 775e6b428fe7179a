import { backward, misbehavesOn } from './reference.mjs';
export default {
  name: 'kills-itself',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) process.kill(process.pid, 'SIGKILL');
    return backward(request);
  },
};
