export default { name: 'bad-layout', layout: 'NWHC', filterLayout: 'IOHW', conv2dBackward() {} };
