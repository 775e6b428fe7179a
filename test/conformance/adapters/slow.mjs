// A correct adapter that takes its time: each call says on stderr that it started
// (forwarded by the runner with --verbose), then waits SLOW_MS milliseconds (default
// 3000) before answering. Signal tests wait for that line before signalling the runner,
// so the signal arrives while the run is in progress, whatever the machine's load.
import { setTimeout as sleep } from 'node:timers/promises';
import { backward } from './reference.mjs';

export default {
  name: 'slow',
  dtypes: ['float32', 'float64'],
  async conv2dBackward(request) {
    process.stderr.write(`slow adapter: started ${request.id}\n`);
    await sleep(Number(process.env.SLOW_MS ?? 3000));
    return backward(request);
  },
};
