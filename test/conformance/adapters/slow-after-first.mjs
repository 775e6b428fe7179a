// Every fixture fails (dw[0] off by 1). Every call after the first waits until the
// file named by RELEASE_FILE exists: a test sees the first FAIL line while the run
// is still going, then lets it finish.
import { existsSync } from 'node:fs';
import { backward } from './reference.mjs';

let calls = 0;

async function released() {
  while (!existsSync(process.env.RELEASE_FILE)) await new Promise((resolve) => setTimeout(resolve, 50));
}

export default {
  name: 'slow-after-first',
  dtypes: ['float32', 'float64'],
  async conv2dBackward(request) {
    if (calls++ > 0) await released();
    const result = backward(request);
    result.dw.data[0] += 1;
    return result;
  },
};
