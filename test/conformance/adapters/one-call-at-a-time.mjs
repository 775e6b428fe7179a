// forward-good with calls that take a few milliseconds (they wait on a timer) and throw
// when they start while another call of this adapter is still running: a host that hands
// the adapter a second request before the first one has answered makes fixtures fail.
import { backward, forward } from './reference.mjs';

let running = null;

async function alone(what, request, compute) {
  if (running !== null) throw new Error(`${what} ${request.id} started while ${running} was still running`);
  running = `${what} ${request.id}`;
  try {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return compute();
  } finally {
    running = null;
  }
}

export default {
  name: 'one-call-at-a-time',
  layout: 'NHWC',
  filterLayout: 'HWIO',
  dtypes: ['float32', 'float64'],
  conv2dBackward: (request) => alone('conv2dBackward', request, () => backward(request, 'NHWC', 'HWIO')),
  conv2dForward: (request) => alone('conv2dForward', request, () => forward(request, 'NHWC', 'HWIO')),
};
