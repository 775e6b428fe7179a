export default { name: 'bad-output', outputs: ['dx', 'dbias'], conv2dBackward() {} };
