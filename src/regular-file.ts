/**
 * Files opened as what they claim to be: the one way the corpus, replay files and
 * adapter outputs are read.
 *
 * A file is opened with O_NOFOLLOW (a symbolic link is refused, never followed) and
 * O_NONBLOCK (opening a FIFO returns at once instead of waiting for a writer), then
 * fstat-checked on that same descriptor: only a regular file is read. Its size is
 * compared with what the caller expects before a byte is read, so a file of the
 * wrong size (a 3 GiB file where 2 KiB are due) is refused in O(1) time and memory.
 *
 * Every refusal is a ConformanceError:
 *   E_MISSING_FILE  no such file
 *   E_FILE_KIND     a symbolic link, a FIFO, a folder, a device or a socket
 *   E_FILE_SIZE     not the size expected (or larger than the limit)
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { ConformanceError, type ErrorCode } from './errors.js';

/** The largest file read whole: Node's Buffer limit on 64-bit hosts is 2^32, readSync's length argument stops below 2^31. */
export const MAX_READ_BYTES = 2 ** 31 - 1;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What a file system entry is, in the words every message uses. */
export function describeFileKind(stats: Pick<Stats, 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice'>): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device';
  return 'a special file';
}

/** How many bytes the caller accepts: exactly `exact`, or anything up to `max`. */
export type ExpectedSize = { exact: number; why: string } | { max: number; why: string };

function fileError(code: ErrorCode, path: string, message: string, context: Record<string, unknown> = {}): ConformanceError {
  return new ConformanceError(code, `${path}: ${message}`, { path, ...context });
}

/**
 * An open regular file: its descriptor and size. Throws E_MISSING_FILE or E_FILE_KIND
 * (see the module comment); `what` says what the file was expected to be ("a fixture file").
 */
export function openRegularFile(path: string, what: string): { descriptor: number; size: number } {
  let descriptor: number;
  try {
    descriptor = openSync(path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fileError('E_MISSING_FILE', path, `expected ${what}, found no such file`, { errno: code });
    // O_NOFOLLOW on a symbolic link fails with ELOOP; a socket cannot be opened (ENXIO).
    if (code === 'ELOOP') throw fileError('E_FILE_KIND', path, `expected ${what}, found a symbolic link`, { errno: code });
    if (code === 'ENXIO') throw fileError('E_FILE_KIND', path, `expected ${what}, found a socket`, { errno: code });
    throw fileError('E_MISSING_FILE', path, `expected ${what}, found a file that cannot be opened: ${(error as Error).message}`, { errno: code });
  }
  let stats: Stats;
  try {
    stats = fstatSync(descriptor);
  } catch (error) {
    closeSync(descriptor);
    throw error;
  }
  if (!stats.isFile()) {
    closeSync(descriptor);
    throw fileError('E_FILE_KIND', path, `expected ${what}, found ${describeFileKind(stats)}`);
  }
  return { descriptor, size: stats.size };
}

/** Throw E_FILE_SIZE unless `size` is what `expected` allows. */
export function checkFileSize(path: string, size: number, expected: ExpectedSize): void {
  if ('exact' in expected) {
    if (size !== expected.exact) {
      throw fileError('E_FILE_SIZE', path, `expected ${expected.exact} bytes (${expected.why}), found ${size}`, { expectedBytes: expected.exact, foundBytes: size });
    }
  } else if (size > Math.min(expected.max, MAX_READ_BYTES)) {
    const max = Math.min(expected.max, MAX_READ_BYTES);
    throw fileError('E_FILE_SIZE', path, `expected at most ${max} bytes (${expected.why}), found ${size}`, { maxBytes: max, foundBytes: size });
  }
}

/**
 * Read `length` bytes from `position` into a buffer of its own (a fresh ArrayBuffer,
 * not a slice of Node's shared pool, so typed-array views over it are safe to hand out).
 * A file that shrank meanwhile is E_FILE_SIZE.
 */
export function readExactly(descriptor: number, path: string, position: number, length: number): Uint8Array {
  // allocUnsafeSlow: a fresh ArrayBuffer of exactly `length` bytes, every one of them overwritten below.
  const bytes = Buffer.allocUnsafeSlow(length);
  let filled = 0;
  while (filled < length) {
    const count = readSync(descriptor, bytes, filled, length - filled, position + filled);
    if (count === 0) {
      throw fileError('E_FILE_SIZE', path, `expected ${position + length} bytes, found only ${position + filled} (the file shrank while it was read)`);
    }
    filled += count;
  }
  return bytes;
}

/**
 * A regular file's bytes, read once, in a buffer of their own; refused before any read
 * unless its size is what `expected` allows. See the module comment for the errors.
 */
export function readRegularFileSync(path: string, what: string, expected: ExpectedSize): Uint8Array {
  const { descriptor, size } = openRegularFile(path, what);
  try {
    checkFileSize(path, size, expected);
    return readExactly(descriptor, path, 0, size);
  } finally {
    closeSync(descriptor);
  }
}
