// Hostile: on the fixture whose id contains $MISBEHAVE_ON (every one when unset) it
// opens a TCP connection to 127.0.0.1:$HOSTILE_PORT (a server the test runs) and fails
// the fixture saying whether it connected; other fixtures it computes correctly.
import { connect } from 'node:net';
import { backward, misbehavesOn } from './reference.mjs';
import { isMain, serveAsCommand } from './hostile-cmd.mjs';

export function attack() {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(process.env.HOSTILE_PORT) });
    socket.once('connect', () => {
      socket.end('stolen');
      resolve('network: connected');
    });
    socket.once('error', (error) => resolve(`network: connection failed: ${error.code}`));
  });
}

export default {
  name: 'opens-socket',
  dtypes: ['float32', 'float64'],
  async conv2dBackward(request) {
    if (misbehavesOn(request.id)) throw new Error(await attack());
    return backward(request);
  },
};

if (isMain(import.meta.url)) await serveAsCommand('opens-socket', attack);
