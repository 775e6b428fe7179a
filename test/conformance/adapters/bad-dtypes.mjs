export default { name: 'bad-dtypes', dtypes: ['float32', 'bfloat16'], conv2dBackward() {} };
