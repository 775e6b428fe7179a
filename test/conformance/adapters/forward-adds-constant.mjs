// --gradcheck: a forward that adds 1 to every element when it is given a bias (y = conv + b + 1),
// with the backward of conv + b. <y, dy> exceeds <x, dx> + <b, db> by sum(dy): both identities
// fail; a central difference cancels the constant, so every difference passes. Without a bias
// (the call that scores y) the forward is correct.
import { backward, forward } from './reference.mjs';

export default {
  name: 'forward-adds-constant',
  dtypes: ['float32'],
  conv2dBackward: (request) => backward(request),
  conv2dForward(request) {
    const result = forward(request);
    if (request.b !== undefined) result.y.data = result.y.data.map((value) => value + 1);
    return result;
  },
};
