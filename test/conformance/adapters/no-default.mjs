export const name = 'no-default';
export function conv2dBackward() {
  return {};
}
