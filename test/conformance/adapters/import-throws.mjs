function loadNativeBinding() {
  throw new Error('native binding libconv.so not found');
}
loadNativeBinding();
export default { name: 'import-throws', conv2dBackward() {} };
