export default {
  name: 'init-throws',
  async init() {
    throw new Error('GPU device not available');
  },
  conv2dBackward() {},
};
