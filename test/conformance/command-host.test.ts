/**
 * The `cmd:` host (protocol 1.1) and the hosts' process handling, through the built
 * CLI with the pure-Python test adapter: per-fixture "unsupported" answers, bounded
 * protocol lines, helper processes and the pipes they hold, --verbose under heavy
 * output, temporary folders (taken by the adapter, or left by a signal), start-up
 * apart from --timeout, fixtures not selected, and TypeScript module adapters.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { BoundedLineSplitter, COMMAND_PROTOCOL_1_1, MAX_LINE_BYTES } from '../../conformance/host/command-host.js';
import { PYTHON } from '../helpers/python.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { ADAPTERS, CLI, PYTHON_ADAPTER, readReport, runCli } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
const python = (options = '') => `cmd:${PYTHON} ${PYTHON_ADAPTER}${options === '' ? '' : ` ${options}`}`;
const lastLine = (text: string) => text.trimEnd().split('\n').pop();
let reports = 0;
const reportPath = () => join(root, `report-${++reports}.json`);

/** Whether a process runs (a zombie, killed and waiting for init to reap it, does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Whether a process is gone within `ms` (a SIGKILL is delivered asynchronously). */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

t.test('line splitter: lines up to the limit come whole, across chunks; a longer one is dropped as it streams', async (t) => {
  const lines: string[] = [];
  const overlong: number[] = [];
  const splitter = new BoundedLineSplitter(8, (line) => lines.push(line), (bytes) => overlong.push(bytes));
  splitter.push(Buffer.from('abc'));
  splitter.push(Buffer.from('de\r\n12345678\n'));
  // 5 + 6 bytes = 11 > 8: dropped, then the next line is read normally.
  splitter.push(Buffer.from('xxxxx'));
  splitter.push(Buffer.from('yyyyyy\nok\nlast'));
  splitter.end();
  t.same(lines, ['abcde', '12345678', 'ok', 'last']);
  t.same(overlong, [11], 'the count of the discarded line');
});

t.test('protocol 1.1: a fixture answered "unsupported" is skipped with its reason, the others pass', async (t) => {
  const json = reportPath();
  const run = await runCli(['--impl', python(`--protocol ${COMMAND_PROTOCOL_1_1} --unsupported-on strided`), '--fixtures', corpus.dir, '--json', json]);
  t.equal(run.code, 0, run.stderr);
  const strided = readReport(json).outcomes.find((outcome) => outcome.id === 'strided-asym-normal-f32')!;
  t.equal(strided.status, 'skipped');
  t.equal(strided.reason, 'unsupported: one stride for both axes only');
  t.match(run.stdout, /Skipped:\n +1 {2}unsupported: one stride for both axes only\n/);
  t.equal(lastLine(run.stdout), '6 passed, 0 failed, 1 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');
});

t.test('a handshake with an unknown protocol names every accepted version', async (t) => {
  const run = await runCli(['--impl', python('--protocol conv2d-backward-conformance/2'), '--fixtures', corpus.dir]);
  t.equal(run.code, 2);
  t.match(run.stderr, /handshake "protocol": expected "conv2d-backward-conformance\/1" or "conv2d-backward-conformance\/1\.1" or "conv2d-backward-conformance\/1\.2", found "conv2d-backward-conformance\/2"/);
});

t.test('a protocol line over 1 MiB is discarded and is an error for that fixture only', async (t) => {
  const json = reportPath();
  const run = await runCli(['--impl', python('--long-line-on plain-normal-f32'), '--fixtures', corpus.dir, '--json', json]);
  t.equal(run.code, 1);
  const report = readReport(json);
  const target = report.outcomes.find((outcome) => outcome.id === 'plain-normal-f32')!;
  t.equal(target.status, 'error');
  // The line: the JSON answer with 2 MiB of padding (2 * 1024 * 1024 'x' plus the JSON around it).
  t.match(target.message, new RegExp(`^the adapter program wrote a stdout line of \\d+ bytes while computing fixture plain-normal-f32; protocol lines are at most ${MAX_LINE_BYTES} bytes \\(the line was discarded\\)$`));
  t.ok(Number(/line of (\d+) bytes/.exec(target.message!)![1]) > 2 * 1024 * 1024);
  t.equal(lastLine(run.stdout), '6 passed, 0 failed, 0 skipped, 1 error (1 error, 0 timeouts, 0 missing)', 'the fixtures after it still pass');
});

t.test('helper processes the adapter started are killed when the run ends', async (t) => {
  const pidFile = join(root, 'helper.pid');
  const run = await runCli(['--impl', python(`--helper-pidfile ${pidFile}`), '--fixtures', corpus.dir, '--only', 'plain-normal-f32']);
  t.equal(run.code, 0, run.stderr);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.ok(await goneWithin(pid, 10000), `the helper (pid ${pid}, sleep 300) is gone`);
});

t.test('a helper outside the process group that holds the stdout pipe does not keep the run waiting', async (t) => {
  const pidFile = join(root, 'escaped.pid');
  const run = await runCli(['--impl', python(`--helper-pidfile ${pidFile} --helper-escapes`), '--fixtures', corpus.dir, '--only', 'plain-normal-f32']);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  t.equal(run.code, 0, 'the run ended and passed');
  t.equal(lastLine(run.stdout), '1 passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');
  t.ok(alive(pid), 'the escaped helper still held the pipe when the run ended (so the test shows something)');
});

t.test('--verbose forwards all of a heavy output written just before the program exits', async (t) => {
  // 20000 lines on each stream (about 400 KB), written at shutdown, after the last fixture.
  const lines = 20000;
  const run = await runCli(['--impl', python(`--flood ${lines}`), '--fixtures', corpus.dir, '--only', 'plain-normal-f32', '--verbose']);
  t.equal(run.code, 0);
  t.equal(run.stderr.match(/^flood stdout \d+$/gm)?.length, lines, 'every stdout line');
  t.equal(run.stderr.match(/^flood stderr \d+$/gm)?.length, lines, 'every stderr line');
  t.match(run.stderr, new RegExp(`flood stderr ${lines - 1}\n`));
});

t.test("an adapter that creates the runner's next temporary folders does not stop the run", async (t) => {
  const run = await runCli(['--impl', python('--take-next-folders'), '--fixtures', corpus.dir]);
  t.equal(run.code, 0, run.stderr);
  t.equal(lastLine(run.stdout), '7 passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');
});

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  t.test(`${signal} during a cmd: run removes the temporary folder and kills the program`, async (t) => {
    const tmp = join(root, `tmp-${signal}`);
    await mkdir(tmp);
    const pidFile = join(root, `signal-${signal}.pid`);
    const child = spawn(process.execPath, [CLI, '--impl', python(`--hang-on plain-normal-f32 --helper-pidfile ${pidFile}`), '--fixtures', corpus.dir, '--only', 'plain-normal-f32'], {
      env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    const exited = new Promise<{ code: number | null }>((resolve) => child.once('exit', (exitCode) => resolve({ code: exitCode })));
    // Wait until the request's folder exists (the program has it and hangs), however slow the machine.
    const folderOfRequest = (): boolean => readdirSync(tmp).some((name) => name.startsWith('conformance-cmd-') && readdirSync(join(tmp, name)).length > 0);
    while (!folderOfRequest() || !existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill(signal);
    const { code: exitCode } = await exited;
    t.equal(exitCode, code, `exit ${code} for ${signal}`);
    t.same(readdirSync(tmp), [], 'no temporary folder left');
    const helper = Number(readFileSync(pidFile, 'utf8'));
    t.ok(await goneWithin(helper, 10000), "the program's helper is gone too");
  });
}

t.test('start-up is not a fixture: a slow start passes under a short --timeout, and --load-timeout bounds it', async (t) => {
  // The program sleeps 2 s before its handshake; fixtures get 1500 ms each (this pure-Python adapter takes a few ms).
  const slow = `cmd:sleep 2; exec ${PYTHON} ${PYTHON_ADAPTER}`;
  const passes = await runCli(['--impl', slow, '--fixtures', corpus.dir, '--only', 'plain-normal-f32', '--timeout', '1500']);
  t.equal(passes.code, 0, passes.stderr);
  t.match(passes.stdout, /Time: [\d.]+ s total, ([2-9]|\d\d+)\.\d\d s adapter start-up/, 'the start-up (at least 2 s) is shown apart');
  const limited = await runCli(['--impl', slow, '--fixtures', corpus.dir, '--load-timeout', '500']);
  t.equal(limited.code, 2);
  t.match(limited.stderr, /did not write its handshake line within 500 ms \(--load-timeout\)/);
  const modular = await runCli(['--impl', join(ADAPTERS, 'good-nchw.mjs'), '--fixtures', corpus.dir, '--load-timeout', 'soon']);
  t.equal(modular.code, 2);
  t.match(modular.stderr, /--load-timeout: expected a positive integer \(milliseconds for the adapter to start\), found "soon"/);
});

t.test('a usage error found while the program starts ends the run (exit 2) and the program with it', async (t) => {
  // The corpus check finds the unknown --only id long before this program's handshake (it sleeps 3 s first):
  // the runner must not wait for the handshake, nor leave the program running (it used to stay, and the run hung).
  const pidFile = join(root, 'starting.pid');
  const run = await runCli(['--impl', `cmd:echo $$ > ${pidFile}; sleep 3; exec ${PYTHON} ${PYTHON_ADAPTER}`, '--fixtures', corpus.dir, '--only', 'no-such-fixture']);
  t.equal(run.code, 2);
  t.match(run.stderr, /--only: no fixture with id 'no-such-fixture' in the corpus/);
  // The shell may be ended before it writes its pid; when it did write it, that process must be gone
  // (within a generous limit: a SIGKILL is delivered asynchronously, on a loaded machine too).
  if (existsSync(pidFile)) t.ok(await goneWithin(Number(readFileSync(pidFile, 'utf8')), 10000), 'the starting program (its shell, pid from the file) is gone');
  else t.pass('the starting program was ended before it wrote its pid');
});

t.test('fixtures left out by --only, --filter or --shard are counted as not selected', async (t) => {
  const json = reportPath();
  const run = await runCli(['--impl', join(ADAPTERS, 'good-nchw.mjs'), '--fixtures', corpus.dir, '--filter', 'dtype=float32', '--json', json]);
  t.equal(run.code, 0, run.stderr);
  const report = readReport(json);
  const float32 = corpus.ids.filter((id) => id.endsWith('-f32')).length;
  t.equal(report.selection.selected, float32);
  t.equal(report.selection.notSelected, corpus.ids.length - float32);
  t.ok(run.stdout.includes(`Not selected: ${corpus.ids.length - float32} of ${corpus.ids.length} fixtures (left out by --only, --filter or --shard)\n`));
});

t.test('--impl ./adapter.ts: a TypeScript adapter in a consumer project passes (through tsx)', async (t) => {
  const project = join(root, 'consumer');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await writeFile(
    join(project, 'adapter.ts'),
    [
      `import { backward } from ${JSON.stringify(join(ADAPTERS, 'reference.mjs'))};`,
      'interface Tensor { dtype: string; shape: number[]; data: Float32Array | Float64Array | Uint16Array }',
      'type Request = { x: Tensor; w: Tensor; dy: Tensor; params: unknown; id: string };',
      'const dtypes: string[] = ["float32", "float64"];',
      'export default { name: "typescript-adapter", dtypes, conv2dBackward: (request: Request): unknown => backward(request) };',
      '',
    ].join('\n'),
  );
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, '--impl', './adapter.ts', '--fixtures', corpus.dir], { cwd: project, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /adapter typescript-adapter:/);
  t.equal(lastLine(run.stdout), '6 passed, 0 failed, 1 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)', 'float16 is skipped: not declared');
});
