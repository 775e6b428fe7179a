/**
 * Run the built conformance-runner CLI (`node dist/cli/bin/conformance-runner.js`) as a user
 * would, capturing its exit status and output. The build must be current:
 * `npx tsc -p tsconfig.build.json` (the package's pretest step).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../src/report-types.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO_ROOT, 'dist', 'cli', 'bin', 'conformance-runner.js');
export const ADAPTERS = join(REPO_ROOT, 'test', 'conformance', 'adapters');
export const PYTHON_ADAPTER = join(REPO_ROOT, 'test', 'conformance', 'python-test-adapter.py');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function adapterPath(file: string): string {
  return join(ADAPTERS, file);
}

/** Run the CLI with `args`; NO_COLOR keeps the output plain even if a TTY leaks in. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build first with \`npx tsc -p tsconfig.build.json\``);
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
      },
    );
  });
}

/** Read a --json report written by a run. */
export function readReport(path: string): Report {
  return JSON.parse(readFileSync(path, 'utf8')) as Report;
}

/**
 * Whether the console output has the streamed line of a non-passing fixture: its label padded
 * to 7, the id, the fixture's geometry in parentheses (when the fixture ran), two spaces, then
 * `text`: the rest of the line, or (whole false) its beginning.
 */
export function hasOutcomeLine(stdout: string, label: 'FAIL' | 'ERROR' | 'TIMEOUT' | 'MISSING', id: string, text: string, whole = true): boolean {
  const start = `${label.padEnd(7)} ${id}`;
  return stdout.split('\n').some((line) => {
    if (!line.startsWith(start)) return false;
    const rest = line.slice(start.length).replace(/^ \([^)]*\)/, '');
    return whole ? rest === `  ${text}` : rest.startsWith(`  ${text}`);
  });
}
