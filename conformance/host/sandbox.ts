/**
 * --sandbox: run an adapter process under bubblewrap (Debian `bubblewrap`). The
 * process gets its own namespaces (--unshare-all: PID, network, IPC, ...), so it
 * cannot signal or trace the runner nor reach the network; dies with the runner;
 * sees the system, the node binary, the package's runtime code (dist/,
 * node_modules, package.json) and its own folder read-only; and never sees the
 * corpus: the package's subfolders are bound one by one (fixtures/ left out) and
 * every corpus folder is hidden under an empty tmpfs in case a bound folder holds it.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, parse } from 'node:path';
import { ConformanceError } from '../../src/errors.js';
import { bundledCorpusDir } from '../../src/paths.js';

/** What the run asks of the sandbox (runConformance's --sandbox, --fixtures and --sandbox-read). */
export interface SandboxOptions {
  /** Corpus folders to hide besides the bundled one (--fixtures). */
  hidden: string[];
  /** More paths the adapter may read (--sandbox-read), absolute. */
  readOnly: string[];
}

export interface SandboxPlan {
  /** Folders the adapter needs to read (its own folder, a cmd: working directory). */
  readOnly: string[];
  /** Folders the adapter may write (a cmd: host's private temporary folder). */
  writable: string[];
  /** Corpus folders that must not be visible, even under a bound folder. */
  hidden: string[];
  /** Working directory inside the sandbox. */
  cwd: string;
}

const SYSTEM_FOLDERS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/etc', '/opt'];

/** The bwrap executable, or E_USAGE (exit 2) saying how to install it. */
export function findBwrap(): string {
  for (const folder of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(folder, 'bwrap');
    if (folder !== '' && existsSync(candidate)) return candidate;
  }
  throw new ConformanceError(
    'E_USAGE',
    `--sandbox: expected the bubblewrap executable 'bwrap' on PATH (${process.env.PATH ?? ''}), found none; install it with: apt-get install bubblewrap`,
    { path: process.env.PATH ?? '' },
  );
}

/** The package root (the folder holding dist/ or conformance/ and package.json). */
function packageRoot(): string {
  return dirname(bundledCorpusDir());
}

/** The package's runtime code, never its fixtures/. */
function packageCode(): string[] {
  const root = packageRoot();
  return ['dist', 'node_modules', 'package.json', 'conformance', 'src', 'cli', 'generator', 'schema'].map((name) => join(root, name)).filter((path) => existsSync(path));
}

/** node_modules folders Node's resolution walks up from `folder`. */
function moduleFolders(folder: string): string[] {
  const found: string[] = [];
  let current = folder;
  for (;;) {
    const candidate = join(current, 'node_modules');
    if (existsSync(candidate)) found.push(candidate);
    const packageJson = join(current, 'package.json');
    if (existsSync(packageJson)) found.push(packageJson);
    if (current === parse(current).root) return found;
    current = dirname(current);
  }
}

/** The read-only binds a Node adapter needs beyond its own folder. */
export function nodeAdapterFolders(adapterFolder: string): string[] {
  return [dirname(process.execPath), ...moduleFolders(adapterFolder)];
}

/** `--ro-bind SRC DEST` with the source's real path (node_modules may be a symlink). */
function bind(flag: '--ro-bind' | '--bind', path: string): string[] {
  const real = realpathSync(path);
  // Also at its real path: Node resolves symlinks (a loader from NODE_OPTIONS names the real path).
  return real === path ? [flag, real, path] : [flag, real, path, flag, real, real];
}

/** bwrap's arguments (before the command) for `plan`. */
export function bwrapArgs(plan: SandboxPlan): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp'];
  for (const folder of SYSTEM_FOLDERS) if (existsSync(folder)) args.push(...bind('--ro-bind', folder));
  const readOnly = [...new Set([...packageCode(), ...plan.readOnly])].filter((path) => existsSync(path));
  // Parents before children, so that a child's bind is not covered by its parent's.
  readOnly.sort((a, b) => a.length - b.length);
  for (const path of readOnly) args.push(...bind('--ro-bind', path));
  for (const path of plan.writable) args.push(...bind('--bind', path));
  for (const path of [bundledCorpusDir(), ...plan.hidden]) {
    if (!existsSync(path) || !statSync(path).isDirectory()) continue;
    args.push('--tmpfs', path);
    const real = realpathSync(path);
    if (real !== path) args.push('--tmpfs', real);
  }
  args.push('--chdir', plan.cwd);
  return args;
}
