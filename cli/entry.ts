/**
 * Runs a command as a process entry: the plumbing every bin file shares.
 *
 * - commander parses the arguments; `--version`/`-V` prints the package version and `help`,
 *   `--help`/`-h` (and `help SUBCOMMAND`, `SUBCOMMAND --help`) print help, with exit status 0;
 *   a parse error prints commander's message and exits 2.
 * - The command's own function runs and returns a result; its status is the exit status.
 * - A ConformanceError ends the command with `<command>: <message>` (no stack) and the status
 *   of its code (cli/exit-codes.ts); a system error (a file that cannot be read or written)
 *   with its message; anything else is an internal error, printed with its stack.
 * - Signals: SIGINT exits 130 and SIGTERM 143, through process.exit so that the 'exit' hooks
 *   (adapter processes killed, temporary folders removed) run. SIGUSR1 is ignored: without a
 *   handler Node would open its inspector on 127.0.0.1:9229, where anything on the machine,
 *   an adapter included, could run code inside this process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describeValue, isConformanceError } from '../src/errors.js';
import { packageRoot } from '../src/paths.js';
import {
  ERROR_EXIT_STATUS,
  EXIT_OK,
  EXIT_UNUSABLE,
  INTERNAL_ERROR_EXIT_STATUS,
  SIGNAL_EXIT_STATUS,
  type EndingSignal,
  type ExitStatus,
} from './exit-codes.js';

/** A stream a command writes to (process.stdout, or a capture in tests). */
export type CommandStream = NodeJS.WritableStream & { isTTY?: boolean };

/** Where a command writes: results on stdout, progress and errors on stderr. */
export interface CommandIo {
  stdout: CommandStream;
  stderr: CommandStream;
}

/** What a command function returns: its data, and the exit status decided from it. */
export interface CommandResult<T = unknown> {
  status: ExitStatus;
  data: T;
}

export interface CommandContext {
  io: CommandIo;
  /** Make a command function the action of a (sub)command: its result's status becomes the exit status. */
  action<A extends unknown[]>(run: (...args: A) => Promise<CommandResult> | CommandResult): (...args: A) => Promise<void>;
}

/** A command: its name, and the options, arguments and subcommands it declares on commander. */
export interface CliCommand {
  name: string;
  description: string;
  define(program: Command, context: CommandContext): void;
}

/** The exit status of a finished parse-and-run, and the command's result when it ran to the end. */
export interface CommandRun {
  status: number;
  result?: CommandResult;
}

let cachedVersion: string | undefined;

/** The version in this package's package.json. */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    cachedVersion = typeof manifest.version === 'string' ? manifest.version : 'unknown';
  }
  return cachedVersion;
}

const VERSION_FLAGS = '-V, --version';
const VERSION_DESCRIPTION = 'print the version of conv2d-backward-conformance';

/** The root commander program of `command`, with the shared settings (inherited by subcommands). */
function buildProgram(command: CliCommand, context: CommandContext): Command {
  const program = new Command(command.name)
    .description(command.description)
    .version(packageVersion(), VERSION_FLAGS, VERSION_DESCRIPTION)
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (text) => context.io.stdout.write(text), writeErr: (text) => context.io.stderr.write(text) })
    .showHelpAfterError(`(run ${command.name} --help for usage)`)
    .exitOverride();
  command.define(program, context);
  for (const subcommand of program.commands) {
    if (subcommand.name() !== 'help') subcommand.version(packageVersion(), VERSION_FLAGS, VERSION_DESCRIPTION);
  }
  return program;
}

/** The message and status for an error that ended a command. */
export function describeFailure(name: string, error: unknown): { message: string; status: ExitStatus } {
  if (isConformanceError(error)) return { message: `${name}: ${error.message}\n`, status: ERROR_EXIT_STATUS[error.code] };
  // A file that cannot be opened, a full disk...: the system's message names the file and says why.
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string') return { message: `${name}: ${error.message}\n`, status: EXIT_UNUSABLE };
  const detail = error instanceof Error ? (error.stack ?? error.message) : describeValue(error);
  return { message: `${name}: internal error: ${detail}\n`, status: INTERNAL_ERROR_EXIT_STATUS };
}

/**
 * Parse `args` (the user's arguments, without node and the script) and run `command`; never
 * throws. Everything is written to `io`.
 */
export async function runCommand(command: CliCommand, args: readonly string[], io: CommandIo): Promise<CommandRun> {
  let result: CommandResult | undefined;
  const context: CommandContext = {
    io,
    action:
      (run) =>
      async (...actionArgs) => {
        result = await run(...actionArgs);
      },
  };
  try {
    const program = buildProgram(command, context);
    // `help` for a command without subcommands (commander adds the help command only to those with some).
    const userArgs = program.commands.length === 0 && args[0] === 'help' ? ['--help'] : [...args];
    await program.parseAsync(userArgs, { from: 'user' });
    return { status: result?.status ?? EXIT_OK, result };
  } catch (error) {
    // Commander has printed its message: help and version exit 0, parse errors 2.
    if (error instanceof CommanderError) return { status: error.exitCode === 0 ? EXIT_OK : EXIT_UNUSABLE };
    const failure = describeFailure(command.name, error);
    io.stderr.write(failure.message);
    return { status: failure.status };
  }
}

let guarded = false;

/**
 * Install the process-wide signal handlers of an entry: SIGUSR1 ignored (no inspector),
 * SIGINT -> 130, SIGTERM -> 143. Call it before loading anything else.
 */
export function guardSignals(name: string): void {
  if (guarded) return;
  guarded = true;
  let toldAboutInspector = false;
  process.on('SIGUSR1', () => {
    if (toldAboutInspector) return;
    toldAboutInspector = true;
    process.stderr.write(`${name}: ignoring SIGUSR1: the inspector is not opened by a signal (start node with --inspect to debug)\n`);
  });
  for (const signal of Object.keys(SIGNAL_EXIT_STATUS) as EndingSignal[]) {
    process.on(signal, () => {
      // A command that stops by itself (onStopSignal) gets the first signal; a second one exits.
      const stop = gracefulStop;
      gracefulStop = undefined;
      if (stop !== undefined) {
        stop(signal);
        return;
      }
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${name}: stopped by ${signal}\n`);
      process.exit(SIGNAL_EXIT_STATUS[signal]);
    });
  }
}

let gracefulStop: ((signal: EndingSignal) => void) | undefined;

/**
 * While set, the first SIGINT/SIGTERM calls `stop` instead of exiting, so that a command can
 * stop its work, clean up and return its own status (conv2d-fixtures fetch); unset it when done.
 * Without guardSignals (a command run in process by a test), it is never called.
 */
export function onStopSignal(stop: ((signal: EndingSignal) => void) | undefined): void {
  gracefulStop = stop;
}

/**
 * The whole of a bin file: guard the signals, load the command (after the guards, so a signal
 * during a slow import is already handled), run it on process.argv, set the exit status.
 */
export async function runEntry(name: string, load: () => Promise<CliCommand>): Promise<void> {
  guardSignals(name);
  // `conformance-runner --help | head`: a reader that stops early is not an error of the command.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK);
  });
  const io: CommandIo = { stdout: process.stdout, stderr: process.stderr };
  let command: CliCommand;
  try {
    command = await load();
  } catch (error) {
    const failure = describeFailure(name, error);
    io.stderr.write(failure.message);
    process.exitCode = failure.status;
    return;
  }
  const run = await runCommand(command, process.argv.slice(2), io);
  process.exitCode = run.status;
}
