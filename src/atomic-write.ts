/**
 * Writes that never leave a half-written file or folder at the target path:
 * everything is built under a temporary name beside the target, then renamed.
 * rename(2) within one folder replaces a file atomically.
 *
 * Nothing left behind:
 *  - temporary paths are tracked while they exist; when the process exits
 *    (process.exit from a signal handler included) the ones still there are
 *    removed synchronously. A process killed outright (SIGKILL) cannot do that, so
 *  - recoverInterruptedSwap, run before every folder replacement, removes the
 *    `<target>.tmp-<pid>-<n>` siblings (and `.tmp-<pid>-<n>.tar.gz` archives) of
 *    processes that are no longer alive, and puts a `<target>.old-<pid>-<n>` back
 *    under the target's name when the target is missing (a kill between the two
 *    renames of the swap), or removes it when the target is there. Only names of
 *    exactly that form, with the pid of a dead process, are touched.
 */
import { createWriteStream, rmSync, type Stats } from 'node:fs';
import { once } from 'node:events';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename, dirname, join } from 'node:path';

const tracked = new Set<string>();
let exitHookInstalled = false;

/** Remove `path` (file or folder) when the process exits, unless untrackTemporary is called first. */
export function trackTemporary(path: string): void {
  tracked.add(path);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', removeTrackedSync);
  }
}

export function untrackTemporary(path: string): void {
  tracked.delete(path);
}

/** The temporary paths still tracked (for tests). */
export function trackedTemporaries(): string[] {
  return [...tracked];
}

function removeTrackedSync(): void {
  for (const path of tracked) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (error) {
      // The process is exiting: say what stays behind rather than throw from an exit handler.
      process.stderr.write(`could not remove the temporary ${path}: ${describeError(error)}\n`);
    }
  }
  tracked.clear();
}

/** Whether a process with this pid exists (EPERM: it exists, under another user). */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface StaleSibling {
  path: string;
  pid: number;
  action: 'removed' | 'restored';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Clean what killed processes left beside `target` (see the module comment):
 * returns what was removed or restored, in that order of discovery.
 */
export async function recoverInterruptedSwap(target: string): Promise<StaleSibling[]> {
  const folder = dirname(target);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const pattern = new RegExp(`^${escapeRegExp(basename(target))}\\.(tmp|old)-(\\d+)-(\\d+)(\\.tar\\.gz)?$`);
  const done: StaleSibling[] = [];
  // Old copies first: one may have to go back under the target's name.
  const stale = names
    .map((name) => ({ name, match: pattern.exec(name) }))
    .filter((item): item is { name: string; match: RegExpExecArray } => item.match !== null && !isProcessAlive(Number(item.match[2])))
    .sort((a, b) => (a.match[1] === b.match[1] ? 0 : a.match[1] === 'old' ? -1 : 1));
  for (const { name, match } of stale) {
    const path = join(folder, name);
    const pid = Number(match[2]);
    if (match[1] === 'old' && match[4] === undefined) {
      const targetInfo = await lstat(target).catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      if (targetInfo === undefined) {
        await rename(path, target);
        done.push({ path, pid, action: 'restored' });
        continue;
      }
    }
    await rm(path, { recursive: true, force: true });
    done.push({ path, pid, action: 'removed' });
  }
  return done;
}

let counter = 0;

/** `<path>.<kind>-<pid>-<n>`: beside the target (same file system), unique within and across processes. */
export function siblingName(path: string, kind: 'tmp' | 'old'): string {
  counter += 1;
  return `${path}.${kind}-${process.pid}-${counter}`;
}

export interface AtomicWriteOptions {
  /** fsync the file before the rename and its folder after it (durability across power loss). Default false. */
  fsync?: boolean;
}

/**
 * Write `data` (a string is written as UTF-8) to `path` through a temporary file
 * in the same folder and a rename. The folder must exist. On failure the
 * temporary file is removed and `path` is left as it was.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const temporary = siblingName(path, 'tmp');
  trackTemporary(temporary);
  try {
    // 'wx': fail rather than reuse a file that happens to exist under the temporary name.
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      if (options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await cleanUpAfter(error, temporary);
  } finally {
    untrackTemporary(temporary);
  }
  if (options.fsync) await syncFolder(dirname(path));
}

/**
 * Replace the folder `target` with one produced by `build`.
 *
 * `build` fills a fresh empty folder `<target>.tmp-<pid>-<n>` beside the target.
 * If it throws, that folder is removed, the error is rethrown and `target` is untouched.
 * If it succeeds: target -> `<target>.old-<pid>-<n>`, temporary -> target, the old copy is removed.
 * A process that exits during the build removes the temporary folder on its way out
 * (trackTemporary); one killed outright leaves it, and one killed between the two renames
 * leaves the previous content complete under the `.old-` name: the next replacement of the
 * same target (recoverInterruptedSwap, called first) removes the first and restores the second.
 * At every instant the target name holds the old or the new folder, except between the two
 * renames, where the old one is complete under its `.old-` name until the next run puts it back.
 */
export async function replaceDirectoryAtomically(target: string, build: (temporaryDir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await recoverInterruptedSwap(target);
  const temporary = siblingName(target, 'tmp');
  await mkdir(temporary);
  trackTemporary(temporary);
  try {
    await build(temporary);
  } catch (error) {
    untrackTemporary(temporary);
    await cleanUpAfter(error, temporary);
  }

  const old = siblingName(target, 'old');
  let movedAside = false;
  try {
    await rename(target, old);
    movedAside = true;
  } catch (error) {
    if (!isNotFound(error)) await cleanUpAfter(error, temporary);
    // No previous folder: nothing to move aside.
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    if (movedAside) await rename(old, target);
    untrackTemporary(temporary);
    await cleanUpAfter(error, temporary);
  }
  untrackTemporary(temporary);
  if (movedAside) await rm(old, { recursive: true, force: true });
}

/** Remove what a failed operation left and rethrow its error (both errors when the clean-up fails too). */
async function cleanUpAfter(error: unknown, leftover: string): Promise<never> {
  try {
    await rm(leftover, { recursive: true, force: true });
  } catch (cleanupError) {
    throw new AggregateError([error, cleanupError], `${describeError(error)}; and removing ${leftover} failed: ${describeError(cleanupError)}`);
  }
  throw error;
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Stream `source` through `transforms` into a new file (`file` must not exist:
 * callers pass a siblingName). On failure the file is removed before the error is
 * thrown, also when the failure came while the file was still being opened: the
 * write stream is first let close, so no file appears after the cleanup.
 */
export async function pipeIntoNewFile(file: string, source: Readable, ...transforms: Transform[]): Promise<void> {
  const sink = createWriteStream(file, { flags: 'wx' });
  let opened = false;
  sink.once('open', () => {
    opened = true;
  });
  try {
    await pipeline([source, ...transforms, sink]);
  } catch (error) {
    if (!sink.closed) await once(sink, 'close');
    // Not opened: the file is not ours (EEXIST) or was never created.
    if (opened) await rm(file, { force: true });
    throw error;
  }
}

/** stat(path), or undefined when nothing is there (ENOENT); other errors are thrown as they come. */
export async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT';
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
