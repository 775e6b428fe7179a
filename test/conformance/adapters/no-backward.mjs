export default { name: 'no-backward', conv2dbackward() {} };
