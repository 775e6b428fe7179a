export default { name: 'syntax-error', conv2dBackward() { return {; } };
