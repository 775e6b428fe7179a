export { conv2dForward } from './conv2d-forward.js';
export { conv2dBackward, conv2dBackwardMagnitude } from './conv2d-backward.js';
