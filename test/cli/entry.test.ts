/**
 * cli/entry.ts in process: a command is a plain function whose result decides the exit
 * status; errors are printed by one rule (ConformanceError without stack, with the status of
 * its code from cli/exit-codes.ts; anything else as an internal error with its stack).
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { runCommand, type CliCommand, type CommandIo } from '../../cli/entry.js';
import { ERROR_EXIT_STATUS, EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, SIGNAL_EXIT_STATUS } from '../../cli/exit-codes.js';
import { fixturesCommand } from '../../conformance/fixtures-command.js';
import { ConformanceError, type ErrorCode } from '../../src/errors.js';
import { bundledCorpusDir } from '../../src/paths.js';

/** An io whose writes are kept as text. */
function capture(): CommandIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const stream = (append: (text: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  return { stdout: stream((text) => (out += text)), stderr: stream((text) => (err += text)), out: () => out, err: () => err };
}

/** A command whose action does what `behave` says with the --mode it is given. */
function fakeCommand(behave: (mode: string) => unknown): CliCommand {
  return {
    name: 'fake',
    description: 'a command for tests',
    define(program, { action }) {
      program.requiredOption('--mode <mode>', 'what to do').action(action(async (options: { mode: string }) => ({ status: EXIT_FAILED, data: behave(options.mode) })));
    },
  };
}

t.test('the result of the command function is the exit status, and its data is returned', async (t) => {
  const io = capture();
  const run = await runCommand(fixturesCommand, ['path'], io);
  t.equal(run.status, EXIT_OK);
  t.same(run.result, { status: EXIT_OK, data: bundledCorpusDir() });
  t.equal(io.out(), `${bundledCorpusDir()}\n`);
  const failing = await runCommand(fakeCommand((mode) => mode), ['--mode', 'no'], capture());
  t.equal(failing.status, EXIT_FAILED, 'status 1 from the result');
  t.same(failing.result?.data, 'no');
});

t.test('a ConformanceError: `<command>: <message>`, no stack, the status of its code', async (t) => {
  const codes: ErrorCode[] = ['E_USAGE', 'E_MANIFEST', 'E_FETCH', 'E_WITNESS_DISAGREES'];
  for (const code of codes) {
    const io = capture();
    const run = await runCommand(
      fakeCommand(() => {
        throw new ConformanceError(code, `something about ${code}`);
      }),
      ['--mode', 'throw'],
      io,
    );
    t.equal(run.status, ERROR_EXIT_STATUS[code], code);
    t.equal(io.err(), `fake: something about ${code}\n`, `${code}: the message alone`);
  }
  t.equal(ERROR_EXIT_STATUS.E_USAGE, EXIT_UNUSABLE, 'usage errors exit 2');
  t.equal(ERROR_EXIT_STATUS.E_ADAPTER_LOAD, EXIT_UNUSABLE, 'an adapter that cannot be loaded exits 2');
  t.equal(ERROR_EXIT_STATUS.E_CHECKSUM, EXIT_UNUSABLE, 'a corpus that cannot be used exits 2');
  // 128 + the signal number, as a shell reports a process ended by that signal.
  t.same(SIGNAL_EXIT_STATUS, { SIGINT: 128 + 2, SIGTERM: 128 + 15 });
});

t.test('a system error: its message without stack; a bug: "internal error" with its stack', async (t) => {
  const io = capture();
  const system = Object.assign(new Error("ENOENT: no such file or directory, open '/nowhere/x'"), { code: 'ENOENT', syscall: 'open' });
  const run = await runCommand(
    fakeCommand(() => {
      throw system;
    }),
    ['--mode', 'x'],
    io,
  );
  t.equal(run.status, EXIT_UNUSABLE);
  t.equal(io.err(), "fake: ENOENT: no such file or directory, open '/nowhere/x'\n");
  const bugIo = capture();
  const bug = await runCommand(
    fakeCommand(() => {
      throw new TypeError('x is not a function');
    }),
    ['--mode', 'x'],
    bugIo,
  );
  t.equal(bug.status, EXIT_UNUSABLE);
  t.match(bugIo.err(), /^fake: internal error: TypeError: x is not a function\n {4}at /);
});

t.test('parse errors exit 2 with commander\'s message; help and version exit 0 and run nothing', async (t) => {
  let ran = 0;
  const command = fakeCommand(() => (ran += 1));
  const missing = capture();
  t.equal((await runCommand(command, [], missing)).status, EXIT_UNUSABLE);
  t.match(missing.err(), "error: required option '--mode <mode>' not specified");
  for (const args of [['help'], ['--help'], ['-h'], ['--version'], ['-V']]) {
    const io = capture();
    t.equal((await runCommand(command, args, io)).status, EXIT_OK, args.join(' '));
    t.not(io.out(), '', `${args.join(' ')}: answered on stdout`);
  }
  t.equal(ran, 0, 'the action never ran');
});
