// A browser adapter that misbehaves on chosen fixtures, one way per fixture, and
// computes the others correctly (on the CPU, with the reference backward). It
// requests a WebGPU device in init() so that a fixture can lose it.
//
//   misbehavingAdapter({ [fixtureId]: behaviour }, { hangOnPage })
//
// hangOnPage: the page number (the harness URL's ?page=N) whose module evaluation never
// finishes, so that the fresh page started for a fixture never finishes loading.
import { backward } from '../reference.mjs';

const forever = () => new Promise(() => {});

const behaviours = {
  throws: (request) => {
    throw new RangeError(`deliberate failure on ${request.id}`);
  },
  rejects: () => Promise.reject(new Error('rejected asynchronously')),
  'unhandled-rejection': () => {
    Promise.reject(new Error('nobody waits for this promise'));
    return forever();
  },
  'infinite-loop': () => {
    for (;;) {
      // Spins the page's main thread: only the host's timer ends this.
    }
  },
  crashes: () => {
    // Exhaust the page's JavaScript heap (the test limits it with --js-flags): V8 ends the renderer.
    const hoard = [];
    for (;;) hoard.push(new Array(1 << 16).fill(hoard.length));
  },
  'loses-device': async (request, device) => {
    device.destroy();
    const buffer = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    await buffer.mapAsync(GPUMapMode.READ);
    return backward(request);
  },
  navigates: () => {
    location.href = '/harness.html?navigated';
    return forever();
  },
  closes: () => {
    window.close();
    return forever();
  },
  'wrong-shape': (request) => {
    const result = backward(request);
    result.dx.shape = [...result.dx.shape].reverse();
    return result;
  },
  'wrong-dtype': (request) => {
    const result = backward(request);
    result.dw = { dtype: 'float64', shape: result.dw.shape, data: Float64Array.from(result.dw.data) };
    return result;
  },
};

export function misbehavingAdapter(plan, { hangOnPage = 0 } = {}) {
  let device;
  return {
    name: 'misbehaves',
    dtypes: ['float32'],
    async init() {
      if (Number(new URLSearchParams(location.search).get('page')) === hangOnPage) await forever();
      const gpu = await navigator.gpu.requestAdapter();
      device = await gpu.requestDevice();
    },
    conv2dBackward(request) {
      const behaviour = plan[request.id];
      if (behaviour === undefined) return backward(request);
      return behaviours[behaviour](request, device);
    },
  };
}
