export default { name: 'bad-dtypes', dtypes: ['float32', 'int8'], conv2dBackward() {} };
