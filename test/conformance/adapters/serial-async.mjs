// An asynchronous adapter that checks the runner's promise of one call at a time:
// each call waits a little before answering, and a call that starts while another
// is still in progress throws. It appends each fixture id to the file named by
// CALL_LOG when its call starts, so that a test can check the order of the calls.
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { backward } from './reference.mjs';

let inProgress = 0;

export default {
  name: 'serial-async',
  dtypes: ['float32', 'float64'],
  async conv2dBackward(request) {
    inProgress += 1;
    try {
      if (inProgress > 1) throw new Error(`${inProgress} calls in progress at once (${request.id})`);
      if (process.env.CALL_LOG) appendFileSync(process.env.CALL_LOG, `${request.id}\n`);
      // Long enough for the runner's next requests to arrive while this one waits.
      await sleep(20);
      return backward(request);
    } finally {
      inProgress -= 1;
    }
  },
};
