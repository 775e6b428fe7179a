/**
 * Writes that never leave a half-written file or folder at the target path:
 * everything is built under a temporary name beside the target, then renamed.
 * rename(2) within one folder replaces a file atomically.
 */
import { createWriteStream, type Stats } from 'node:fs';
import { once } from 'node:events';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dirname } from 'node:path';

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
  }
  if (options.fsync) await syncFolder(dirname(path));
}

/**
 * Replace the folder `target` with one produced by `build`.
 *
 * `build` fills a fresh empty folder `<target>.tmp-<pid>-<n>` beside the target.
 * If it throws, that folder is removed, the error is rethrown and `target` is untouched.
 * If it succeeds: target -> `<target>.old-<pid>-<n>`, temporary -> target, the old copy is removed.
 * A process that dies during the build leaves the target untouched (and a `.tmp-` folder
 * behind); one that dies between the two renames leaves the previous content complete
 * under the `.old-` name.
 */
export async function replaceDirectoryAtomically(target: string, build: (temporaryDir: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temporary = siblingName(target, 'tmp');
  await mkdir(temporary);
  try {
    await build(temporary);
  } catch (error) {
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
    await cleanUpAfter(error, temporary);
  }
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
