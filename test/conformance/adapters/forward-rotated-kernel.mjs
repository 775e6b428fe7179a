// --gradcheck: a correct forward with the backward of another forward, the one whose kernel is
// rotated by 180 degrees (w[o, i, KH-1-kh, KW-1-kw]): dx and dw are the gradients of
// conv(x, rot(w)), so a central difference of the adapter's own forward disagrees with them
// wherever the kernel is not symmetric.
import { backward, forward } from './reference.mjs';

function rotated(w) {
  const [outChannels, inPerGroup, kernelHeight, kernelWidth] = w.shape;
  const data = new w.data.constructor(w.data.length);
  for (let o = 0; o < outChannels; o++)
    for (let i = 0; i < inPerGroup; i++)
      for (let kh = 0; kh < kernelHeight; kh++)
        for (let kw = 0; kw < kernelWidth; kw++) {
          const from = ((o * inPerGroup + i) * kernelHeight + kh) * kernelWidth + kw;
          const to = ((o * inPerGroup + i) * kernelHeight + (kernelHeight - 1 - kh)) * kernelWidth + (kernelWidth - 1 - kw);
          data[to] = w.data[from];
        }
  return { ...w, data };
}

export default {
  name: 'forward-rotated-kernel',
  dtypes: ['float32'],
  conv2dBackward(request) {
    const result = backward({ ...request, w: rotated(request.w) });
    return { ...result, dw: rotated(result.dw) };
  },
  conv2dForward: (request) => forward(request),
};
