/**
 * Signals to a running conformance-runner (cli/entry.ts): SIGUSR1 does not open Node's
 * inspector (issue 12: a hostile adapter used it to run code inside the runner) and the run
 * goes on; SIGINT exits 130 and SIGTERM 143. The adapter (adapters/slow.mjs) says on stderr
 * when a call starts, forwarded by --verbose; every signal is sent only after that line, so
 * start-up time on a loaded machine does not matter, and the adapter then waits SLOW_MS.
 */
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath } from '../conformance/run-cli.js';
import { startBin } from './bin-run.js';

const INSPECTOR_PORT = 9229;
const STARTED = 'slow adapter: started';
/** Long enough that the signal and the port probe happen while the adapter is still computing. */
const SLOW_MS = '4000';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
const args = ['--impl', adapterPath('slow.mjs'), '--fixtures', corpus.dir, '--only', 'plain-normal-f32', '--verbose'];

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

t.test('the probe works: SIGUSR1 opens the inspector of a node process without a handler', async (t) => {
  // Port 0: the control process takes a free port, never 9229 that the test below watches.
  const child = spawn(process.execPath, ['--inspect-port=0', '-e', "process.stdout.write('ready\\n'); setTimeout(() => {}, 60000)"]);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGUSR1');
  const opened = await new Promise<boolean>((resolve) => {
    const check = setInterval(() => {
      if (stderr.includes('Debugger listening on ws://127.0.0.1:')) finish(true);
    }, 50);
    const timer = setTimeout(() => finish(false), 30000);
    function finish(value: boolean): void {
      clearInterval(check);
      clearTimeout(timer);
      resolve(value);
    }
  });
  child.kill('SIGKILL');
  t.ok(opened, `the inspector opened: ${stderr}`);
});

const portTaken = (await listening(INSPECTOR_PORT)) ? `something else already listens on 127.0.0.1:${INSPECTOR_PORT}` : false;

t.test('SIGUSR1: no inspector on 127.0.0.1:9229, and the run completes normally', { skip: portTaken }, async (t) => {
  const run = startBin('conformance-runner', args, { SLOW_MS });
  await run.waitForStderr(STARTED);
  t.match(run.child.exitCode, null, 'still running when signalled');
  run.child.kill('SIGUSR1');
  await run.waitForStderr('ignoring SIGUSR1');
  // Node prints "Debugger listening" as it opens the port; give it a moment while the adapter still computes.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(await listening(INSPECTOR_PORT), false, `nothing listens on 127.0.0.1:${INSPECTOR_PORT}`);
  const ended = await run.ended;
  t.equal(ended.code, 0, ended.stderr);
  t.notMatch(ended.stderr, 'Debugger listening');
  t.match(ended.stderr, 'conformance-runner: ignoring SIGUSR1: the inspector is not opened by a signal');
  t.match(ended.stdout, /\n1 passed, 0 failed, 0 skipped, 0 errors \(0 errors, 0 timeouts, 0 missing\)\n$/, 'the fixture scored as usual');
});

for (const [signal, status] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  t.test(`${signal} during a run exits ${status}, saying why, with no report`, async (t) => {
    const run = startBin('conformance-runner', args, { SLOW_MS });
    await run.waitForStderr(STARTED);
    t.match(run.child.exitCode, null, 'still running when signalled');
    run.child.kill(signal);
    const ended = await run.ended;
    t.equal(ended.code, status, `exit status ${status}`);
    t.equal(ended.signal, null, 'an exit status, not death by the signal');
    t.match(ended.stderr, `conformance-runner: stopped by ${signal}\n`);
    t.notMatch(ended.stdout, 'passed', 'no summary: the run did not finish');
  });
}
