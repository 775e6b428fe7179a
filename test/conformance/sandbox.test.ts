/**
 * --sandbox (conformance/host/sandbox.ts, docs/threat-model.md), through the built CLI: hostile
 * adapters (module and cmd:) that read the corpus, signal their parent or every process they
 * can see, or open a connection to a server on 127.0.0.1 get an error for that fixture and
 * the run reports normally; correct adapters pass; the options that make no sense are E_USAGE.
 *
 * The signalling attack is never run without --sandbox: it would end the runner (and, with
 * it, this test). signals-parent.mjs limits itself, should the sandbox not hold, to its parent
 * and the processes whose command line holds HOSTILE_MARKER (this test's runners).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { PYTHON, pythonHas } from '../helpers/python.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath, hasOutcomeLine, readReport, REPO_ROOT, runCli } from './run-cli.js';

const skip = existsSync('/usr/bin/bwrap') ? false : 'bubblewrap (bwrap) is not installed';
// .ci/run installs bubblewrap: under CI a missing one is a failure, not a quiet skip.
const underCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
if (skip !== false && underCi) t.fail(`CI has no bubblewrap for the --sandbox tests: ${skip}`);
const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
// Two fixtures of the bundled corpus: the hostile adapters misbehave on the first only.
const ATTACKED = 'basic-3x3-pad1-exact-f32';
const SPARED = 'basic-3x3-pad1-exact-f64';
const SUMMARY_ONE_ERROR = /^1 passed, 0 failed, 0 skipped, 1 error \(1 error, 0 timeouts, 0 missing\)$/m;
let reports = 0;
const reportPath = () => join(root, `report-${++reports}.json`);

t.test('an adapter reading ../fixtures sees the corpus without --sandbox and not with it', { skip }, async (t) => {
  const args = ['--impl', adapterPath('reads-corpus.mjs'), '--only', ATTACKED];
  const plain = await runCli(args);
  t.match(plain.stdout + plain.stderr, /corpus visible: [1-9]\d* entries/);
  const sandboxed = await runCli([...args, '--sandbox']);
  // Hidden under an empty tmpfs: the folder exists but holds nothing (0 entries).
  t.match(sandboxed.stdout, /corpus visible: 0 entries/);
  t.match(sandboxed.stdout, /0 passed, 0 failed, 0 skipped, 1 error/);
});

for (const host of ['module', 'cmd:'] as const) {
  const impl = host === 'module' ? adapterPath('signals-parent.mjs') : `cmd:${process.execPath} ${adapterPath('signals-parent.mjs')}`;
  t.test(`a ${host} adapter that signals its parent, pid 1 and every pid it sees cannot reach the runner under --sandbox`, { skip }, async (t) => {
    const json = reportPath();
    const only = host === 'module' ? `${ATTACKED},${SPARED}` : ATTACKED;
    const run = await runCli(['--impl', impl, '--only', only, '--sandbox', '--json', json], { MISBEHAVE_ON: ATTACKED, HOSTILE_MARKER: json });
    // The runner lived to score the fixture and write its reports: exit 1 (an error), no signal.
    t.equal(run.signal, null, run.stderr);
    t.equal(run.code, 1, run.stderr);
    const thrown = host === 'module' ? 'conv2dBackward threw: signals: ' : 'the adapter reported an error: signals: ';
    t.ok(hasOutcomeLine(run.stdout, 'ERROR', ATTACKED, thrown, false), run.stdout);
    // What it could see: its own PID namespace only (bwrap's pid 1, itself, and for cmd: the shell).
    const visible = /visible pids: ([\d ]+)/.exec(run.stdout)?.[1].trim().split(' ').map(Number) ?? [];
    t.ok(visible.length > 0 && visible.length <= 4 && visible.includes(1), `visible pids: ${visible.join(' ')}`);
    const report = readReport(json);
    t.equal(report.outcomes.find((outcome) => outcome.id === ATTACKED)?.status, 'error');
    if (host === 'module') {
      // The next fixture ran and passed after the attack.
      t.match(run.stdout, SUMMARY_ONE_ERROR);
      t.equal(report.outcomes.find((outcome) => outcome.id === SPARED)?.status, 'pass');
    } else {
      t.match(run.stdout, /^0 passed, 0 failed, 0 skipped, 1 error/m);
    }
  });
}

/** A TCP server on 127.0.0.1 counting the connections it accepts. */
async function listen(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    count++;
    sockets.push(socket);
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

for (const host of ['module', 'cmd:'] as const) {
  const impl = host === 'module' ? adapterPath('opens-socket.mjs') : `cmd:${process.execPath} ${adapterPath('opens-socket.mjs')}`;
  t.test(`a ${host} adapter that connects to a server on 127.0.0.1 gets no connection under --sandbox`, { skip }, async (t) => {
    const server = await listen();
    t.teardown(server.close);
    const env = { MISBEHAVE_ON: ATTACKED, HOSTILE_PORT: String(server.port) };
    // Without --sandbox the same adapter connects: the attack is real, and the test can fail.
    const plain = await runCli(['--impl', impl, '--only', ATTACKED], env);
    t.match(plain.stdout, /network: connected/);
    t.equal(server.connections(), 1);
    const only = host === 'module' ? `${ATTACKED},${SPARED}` : ATTACKED;
    const run = await runCli(['--impl', impl, '--only', only, '--sandbox'], env);
    t.equal(run.code, 1, run.stderr);
    // Its own network namespace has a loopback of its own: nothing listens on that port there.
    t.match(run.stdout, /network: connection failed: E[A-Z]+/);
    t.equal(server.connections(), 1, 'the server saw no connection from the sandboxed run');
    t.match(run.stdout, host === 'module' ? SUMMARY_ONE_ERROR : /^0 passed, 0 failed, 0 skipped, 1 error/m);
  });
}

t.test('a --fixtures corpus at an absolute path inside the working directory is hidden from a cmd: adapter', { skip }, async (t) => {
  // The cmd: program's working directory (the repository) is readable in the sandbox, and the corpus is inside it.
  t.ok(corpus.dir.startsWith(`${REPO_ROOT}/`), corpus.dir);
  const impl = `cmd:${process.execPath} ${adapterPath('lists-folder.mjs')} ${corpus.dir}`;
  const args = ['--impl', impl, '--fixtures', corpus.dir, '--only', corpus.ids[0]];
  const plain = await runCli(args);
  t.match(plain.stdout, new RegExp(`${corpus.dir}: [1-9]\\d* entries`));
  const run = await runCli([...args, '--sandbox']);
  t.match(run.stdout, new RegExp(`${corpus.dir}: 0 entries`));
});

/** The real interpreter, its prefix and numpy's folder, for --sandbox-read (a pyenv shim runs outside /usr). */
function pythonPaths(): { executable: string; read: string[] } | null {
  if (!pythonHas(['numpy'])) return null;
  const probe = spawnSync(PYTHON, ['-c', 'import os, sys, numpy; print(sys.executable); print(sys.prefix); print(os.path.dirname(os.path.dirname(numpy.__file__)))'], { encoding: 'utf8' });
  const [executable, prefix, packages] = probe.stdout.trim().split('\n');
  return probe.status === 0 ? { executable, read: [prefix, packages] } : null;
}

const python = pythonPaths();
t.test('the Python example (a cmd: adapter) passes a --fixtures corpus under --sandbox', { skip: skip || (python === null ? `${PYTHON} cannot import numpy` : false) }, async (t) => {
  const impl = `cmd:${python!.executable} ${join(REPO_ROOT, 'conformance', 'examples', 'python-adapter.py')}`;
  const run = await runCli(['--impl', impl, '--fixtures', corpus.dir, '--sandbox', ...python!.read.flatMap((path) => ['--sandbox-read', path])]);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, new RegExp(`^${corpus.ids.length} passed, 0 failed, 0 skipped, 0 errors`, 'm'));
});

t.test('the naive adapter passes the whole bundled corpus under --sandbox', { skip }, async (t) => {
  const run = await runCli(['--impl', 'dist/conformance/adapters/naive.js', '--sandbox']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^\d+ passed, 0 failed, \d+ skipped, 0 errors/m);
});

t.test('--sandbox where nothing can be wrapped, and --sandbox-read misused, are usage errors (exit 2)', async (t) => {
  const cases: { args: string[]; message: RegExp }[] = [
    { args: ['--impl', 'browser:./kernel.js', '--sandbox'], message: /--sandbox: a browser: adapter already runs in a Chromium page .*drop it for --impl browser:\.\/kernel\.js/ },
    { args: ['--impl', `replay:${root}`, '--sandbox'], message: /--sandbox: a replay: folder holds outputs computed elsewhere, so no adapter runs here to wrap/ },
    { args: ['--impl', adapterPath('good-nchw.mjs'), '--sandbox-read', '/usr'], message: /--sandbox-read \/usr: only applies with --sandbox/ },
  ];
  if (skip === false) {
    cases.push({ args: ['--impl', adapterPath('good-nchw.mjs'), '--sandbox', '--sandbox-read', 'no/such/folder'], message: /--sandbox-read no\/such\/folder: expected an existing file or folder, found nothing at \/.*no\/such\/folder/ });
  }
  for (const { args, message } of cases) {
    const run = await runCli(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, message, args.join(' '));
  }
});
