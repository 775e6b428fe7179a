// --gradcheck: the forward adds its bias b, the backward ignores it (db is zeros), so
// <y, dy> = <x, dx> + <b, db> fails for a nonzero b: both adjoint identities fail.
import { backward, forward } from './reference.mjs';

export default {
  name: 'forward-bias-ignored',
  dtypes: ['float32'],
  conv2dBackward(request) {
    const result = backward(request);
    return { ...result, db: { ...result.db, data: new Float32Array(result.db.data.length) } };
  },
  conv2dForward: (request) => forward(request),
};
