// CommonJS adapter (module.exports), filters in OHWI.
let reference;

module.exports = {
  name: 'reference-ohwi-cjs',
  filterLayout: 'OHWI',
  dtypes: ['float32', 'float64'],
  async init() {
    reference = await import('./reference.mjs');
  },
  conv2dBackward(request) {
    return reference.backward(request, 'NCHW', 'OHWI');
  },
};
