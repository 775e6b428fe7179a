// A correct backward whose forward misbehaves as $FORWARD_MISBEHAVES says: 'throw', 'shape'
// (y with its last axis one short), 'dtype' (float64 y for a float32 fixture), 'hang' (never
// answers), 'exit' (ends its process). Each is an error or timeout outcome naming the forward.
import { backward, forward } from './reference.mjs';

export default {
  name: 'forward-misbehaves',
  dtypes: ['float32'],
  conv2dBackward: (request) => backward(request),
  conv2dForward(request) {
    const how = process.env.FORWARD_MISBEHAVES;
    if (how === 'throw') throw new RangeError('no forward today');
    if (how === 'hang') return new Promise(() => {});
    if (how === 'exit') process.exit(3);
    const { y } = forward(request);
    if (how === 'shape') return { y: { ...y, shape: [...y.shape.slice(0, 3), y.shape[3] - 1] } };
    if (how === 'dtype') return { y: { ...y, dtype: 'float64', data: Float64Array.from(y.data) } };
    return { y };
  },
};
