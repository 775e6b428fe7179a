/**
 * Run a built bin file (dist/cli/bin/NAME.js) as a user would; the build must be current
 * (`npm run build`, the package's pretest step).
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type CliRun } from '../conformance/run-cli.js';

/** The six commands, by bin file name. */
export const COMMANDS = ['conformance-runner', 'conv2d-fixtures', 'generate-fixtures', 'emit-schemas', 'self-test', 'bench'] as const;
export type CommandName = (typeof COMMANDS)[number];

export function binPath(name: CommandName): string {
  const path = join(REPO_ROOT, 'dist', 'cli', 'bin', `${name}.js`);
  if (!existsSync(path)) throw new Error(`${path} is missing: build first with \`npm run build\``);
  return path;
}

/** Run `NAME ARGS` to the end. */
export function runBin(name: CommandName, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const path = binPath(name);
  return new Promise((resolve) => {
    execFile(process.execPath, [path, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

/** A started `NAME ARGS`, with its output so far and a promise of its end. */
export interface RunningBin {
  child: ChildProcessWithoutNullStreams;
  /** Resolves once stderr contains `text` (the output so far is kept in `stderr`). */
  waitForStderr(text: string): Promise<void>;
  ended: Promise<CliRun>;
}

export function startBin(name: CommandName, args: string[], env: Record<string, string> = {}): RunningBin {
  const child = spawn(process.execPath, [binPath(name), ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const waiter of waiters.filter((entry) => stderr.includes(entry.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const ended = new Promise<CliRun>((resolve) => {
    child.on('close', (code, signal) => {
      for (const waiter of waiters) waiter.resolve();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    ended,
    waitForStderr: (text) =>
      new Promise((resolve) => {
        if (stderr.includes(text) || child.exitCode !== null) resolve();
        else waiters.push({ text, resolve });
      }),
  };
}
