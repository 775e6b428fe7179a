// forward-good, writing each call it receives ("backward ID" or "forward ID") as a line of
// the file named by $CALL_ORDER_LOG, in the order the adapter's process receives them.
import { appendFileSync } from 'node:fs';
import { backward, forward } from './reference.mjs';

const log = (kind, request) => appendFileSync(process.env.CALL_ORDER_LOG, `${kind} ${request.id}\n`);

export default {
  name: 'forward-call-order',
  layout: 'NHWC',
  filterLayout: 'HWIO',
  dtypes: ['float32', 'float64'],
  conv2dBackward: (request) => {
    log('backward', request);
    return backward(request, 'NHWC', 'HWIO');
  },
  conv2dForward: (request) => {
    log('forward', request);
    return forward(request, 'NHWC', 'HWIO');
  },
};
