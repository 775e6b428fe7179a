/**
 * The corpus as one file: a reproducible `conv2d-backward-fixtures-<corpusVersion>.tar.gz`,
 * and the guarded way back from such a file to a corpus folder.
 *
 * Packing (packCorpus) verifies the corpus first, then writes the archive from
 * bytes it has just checked against the manifest. The archive is reproducible: the
 * same corpus always gives the same bytes (with the same zlib build), because
 *  - entries are sorted (byte order of their paths), folders before their files;
 *  - every header has mtime ARCHIVE_MTIME, uid/gid 0, no user/group names, no
 *    atime/ctime, mode 0644 for files and 0755 for folders, whatever the disk says;
 *  - the gzip header has no time stamp and the "unknown" OS byte (255).
 * Everything sits under one top folder, `conv2d-backward-fixtures-<corpusVersion>/`.
 * The tar headers are encoded by tar's Header (and Pax, for paths ustar cannot
 * hold); the stream is plain 512-byte blocks ended by two zero blocks, gzipped by
 * node:zlib. (tar's Pack walks the disk, where stat modes, owners and hard links
 * leak into the archive, and its gzip stream stalled on some large entries here.)
 *
 * Unpacking (unpackArchive) refuses, naming the entry: paths that are absolute,
 * contain `..` or `.` segments, backslashes, drive letters or characters outside
 * [A-Za-z0-9._+-]; links (symbolic or hard), devices, FIFOs and any other entry
 * type but plain files and folders; entries outside the single top folder;
 * duplicate entries; and archives larger than the limits (compressed size,
 * decompressed size, number of entries). It does not check the corpus itself:
 * callers run verifyCorpus on the result (src/corpus-fetch.ts does).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { Header, Pax, type ReadEntry, Unpack } from 'tar';
import { pipeIntoNewFile, siblingName, statIfExists, writeFileAtomic } from './atomic-write.js';
import { ConformanceError, describeValue, isConformanceError } from './errors.js';
import { sha256Hex } from './hash.js';
import { CORPUS_AUXILIARY_FILES, MANIFEST_FILE, compareText, loadManifest, verifyCorpus } from './manifest.js';
import type { Manifest } from './types.js';

/** The archive's name and top folder start with this, followed by `-<corpusVersion>`. */
export const ARCHIVE_NAME_PREFIX = 'conv2d-backward-fixtures';

/** The mtime written into every entry header (a constant, so packing is reproducible). */
export const ARCHIVE_MTIME = new Date('2000-01-01T00:00:00Z');

const FILE_MODE = 0o644;
const FOLDER_MODE = 0o755;
/** zlib's default level: level 9 saves 1% of the v1 archive for 65% more packing time. */
const GZIP_LEVEL = 6;

/** Size caps for archives read from elsewhere. */
export interface ArchiveLimits {
  /** Largest compressed archive accepted, in bytes. */
  maxArchiveBytes: number;
  /** Largest total decompressed stream (the tar itself, headers included), in bytes. */
  maxUnpackedBytes: number;
  /** Most entries (files and folders) accepted. */
  maxEntries: number;
  /**
   * Largest decompressed size as a multiple of the archive's own size: the tar may
   * grow to at most max(UNPACKED_ALLOWANCE_BYTES, maxExpansionRatio × archive bytes),
   * never more than maxUnpackedBytes. The v1 corpus expands 2.7×, a corpus of
   * zeros-family fixtures only about 10×; deflate can reach about 1032×.
   */
  maxExpansionRatio: number;
}

/**
 * 256 MiB compressed, 1 GiB decompressed, 100 000 entries, 100× expansion: the v1
 * corpus is a 6.6 MB archive of a 17.4 MB tar in ~4 950 entries.
 */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxArchiveBytes: 256 * 2 ** 20,
  maxUnpackedBytes: 2 ** 30,
  maxEntries: 100_000,
  maxExpansionRatio: 100,
});

/** Any archive may expand to this many bytes whatever its size (tiny archives of a few fixtures expand more than large ones). */
export const UNPACKED_ALLOWANCE_BYTES = 2 ** 20;

/**
 * Bytes accepted after the tar's end-of-archive marker (two zero blocks): the zero
 * padding of the last record (GNU tar writes 10 KiB records), with room for one
 * decompressed chunk (16 KiB) read before the unpacker reports the marker.
 */
export const MAX_TRAILING_BYTES = 64 * 1024;

/**
 * The decompressed size an archive of `archiveBytes` may reach under `limits`
 * (see ArchiveLimits.maxExpansionRatio), and which rule set it.
 */
export function unpackedLimitFor(archiveBytes: number, limits: ArchiveLimits): { bytes: number; rule: string } {
  const byRatio = Math.max(UNPACKED_ALLOWANCE_BYTES, limits.maxExpansionRatio * archiveBytes);
  if (byRatio < limits.maxUnpackedBytes) {
    return { bytes: byRatio, rule: `max(${UNPACKED_ALLOWANCE_BYTES}, ${limits.maxExpansionRatio} × the archive's ${archiveBytes} bytes)` };
  }
  return { bytes: limits.maxUnpackedBytes, rule: 'the largest unpacked size accepted' };
}

/** The limits with defaults filled in; each must be a positive integer. */
export function resolveArchiveLimits(limits: Partial<ArchiveLimits> = {}): ArchiveLimits {
  const resolved = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ConformanceError('E_USAGE', `archive limit ${name}: expected a positive integer, found ${describeValue(value)}`, { name, value });
    }
  }
  return resolved;
}

/** `conv2d-backward-fixtures-<corpusVersion>`: the archive's top folder. */
export function archiveBaseName(corpusVersion: string): string {
  return `${ARCHIVE_NAME_PREFIX}-${corpusVersion}`;
}

/** `conv2d-backward-fixtures-<corpusVersion>.tar.gz`. */
export function archiveFileName(corpusVersion: string): string {
  return `${archiveBaseName(corpusVersion)}.tar.gz`;
}

/** The line `sha256sum` prints for a file: `<hex>  <file name>\n`. */
export function sha256sumLine(sha256: string, file: string): string {
  return `${sha256}  ${basename(file)}\n`;
}

function archiveError(message: string, context: Record<string, unknown>): ConformanceError {
  return new ConformanceError('E_ARCHIVE', message, context);
}

/**
 * Order of archive paths: segment by segment in byte order, so that a folder comes
 * right before its own files ('a' < 'a/x' < 'a-b', where plain text order would put
 * 'a-b' before 'a/x' because '-' < '/').
 */
export function comparePaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const order = compareText(left[index], right[index]);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

// ---------------------------------------------------------------------------
// Packing

export interface PackOptions {
  /**
   * Where to write the archive. A path ending in `/` or naming an existing folder
   * gets `archiveFileName(corpusVersion)` inside it. Default: that name in the
   * current folder.
   */
  out?: string;
}

export interface PackResult {
  /** The archive written. */
  file: string;
  /** `<file>.sha256`, in sha256sum format. */
  sha256File: string;
  sha256: string;
  bytes: number;
  corpusVersion: string;
  fixtureCount: number;
  /** Entries in the archive (folders included). */
  entries: number;
  /** The top folder inside the archive. */
  topFolder: string;
}

interface PlannedEntry {
  /** Path inside the corpus folder ('' for the corpus folder itself). */
  relative: string;
  kind: 'folder' | 'file';
  /** For files: the sha256 the bytes must have (undefined for auxiliary files outside the digest). */
  sha256?: string;
}

/** Every entry of the archive, sorted: the corpus folder, the root files, then each fixture folder and its files. */
async function planEntries(corpusDir: string, manifest: Manifest): Promise<PlannedEntry[]> {
  const entries: PlannedEntry[] = [{ relative: '', kind: 'folder' }];
  const rootFiles = [MANIFEST_FILE];
  for (const auxiliary of CORPUS_AUXILIARY_FILES) {
    const found = await statIfExists(join(corpusDir, auxiliary));
    if (found?.isFile()) rootFiles.push(auxiliary);
  }
  const children: PlannedEntry[] = rootFiles.map((name) => ({ relative: name, kind: 'file' }));
  for (const fixture of manifest.fixtures) {
    children.push({ relative: fixture.path, kind: 'folder' });
    for (const [name, sha256] of Object.entries(fixture.files)) children.push({ relative: `${fixture.path}/${name}`, kind: 'file', sha256 });
  }
  children.sort((a, b) => comparePaths(a.relative, b.relative));
  return [...entries, ...children];
}

/** The 512-byte tar blocks that start an entry: a pax header first when ustar cannot hold the path. */
function entryHeader(path: string, kind: 'folder' | 'file', size: number): Buffer[] {
  const data = {
    path: kind === 'folder' ? `${path}/` : path,
    type: kind === 'folder' ? ('Directory' as const) : ('File' as const),
    mode: kind === 'folder' ? FOLDER_MODE : FILE_MODE,
    uid: 0,
    gid: 0,
    size,
    mtime: ARCHIVE_MTIME,
  };
  const header = new Header(data);
  const needsPax = header.encode();
  const block = header.block as Buffer;
  return needsPax ? [new Pax(data).encode(), block] : [block];
}

const TAR_BLOCK = 512;
/** Two zero blocks end a tar archive. */
const TAR_END = Buffer.alloc(2 * TAR_BLOCK);
/** Byte 9 of a gzip header names the OS that wrote it; 255 is "unknown" (zlib writes the host's). */
const GZIP_OS_BYTE = 9;

async function resolveOutFile(out: string | undefined, corpusVersion: string): Promise<string> {
  const name = archiveFileName(corpusVersion);
  if (out === undefined) return name;
  if (out.endsWith('/')) return join(out, name);
  const existing = await statIfExists(out);
  return existing?.isDirectory() ? join(out, name) : out;
}

/**
 * Pack a corpus folder into a reproducible .tar.gz (see the module comment) and
 * write `<file>.sha256` beside it. The corpus must verify (E_ARCHIVE listing the
 * problems otherwise); each file's bytes are checked against the manifest again
 * as they are packed. Both files are written atomically.
 */
export async function packCorpus(corpusDir: string, options: PackOptions = {}): Promise<PackResult> {
  const problems = await verifyCorpus(corpusDir);
  if (problems.length > 0) {
    const list = problems.map((problem) => `  ${problem.path}: ${problem.problem}`).join('\n');
    throw archiveError(`${corpusDir}: refusing to pack a corpus that does not verify (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${list}`, {
      corpusDir,
      problems,
    });
  }
  const manifest = await loadManifest(corpusDir);
  const topFolder = archiveBaseName(manifest.corpusVersion);
  const file = await resolveOutFile(options.out, manifest.corpusVersion);
  const planned = await planEntries(corpusDir, manifest);
  await mkdir(dirname(resolve(file)), { recursive: true });

  async function* tarStream(): AsyncGenerator<Buffer> {
    for (const entry of planned) {
      const path = entry.relative === '' ? topFolder : `${topFolder}/${entry.relative}`;
      if (entry.kind === 'folder') {
        yield* entryHeader(path, 'folder', 0);
        continue;
      }
      const body = await readFile(join(corpusDir, entry.relative));
      const found = sha256Hex(body);
      if (entry.sha256 !== undefined && found !== entry.sha256) {
        throw archiveError(`${join(corpusDir, entry.relative)}: changed while packing: sha256 expected ${entry.sha256} (${MANIFEST_FILE}), found ${found}`, {
          corpusDir,
          path: entry.relative,
        });
      }
      yield* entryHeader(path, 'file', body.length);
      yield body;
      const padding = (TAR_BLOCK - (body.length % TAR_BLOCK)) % TAR_BLOCK;
      if (padding > 0) yield Buffer.alloc(padding);
    }
    yield TAR_END;
  }

  const temporary = siblingName(file, 'tmp');
  const hash = createHash('sha256');
  let bytes = 0;
  const portableGzipHeader = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (bytes <= GZIP_OS_BYTE && GZIP_OS_BYTE < bytes + chunk.length) chunk[GZIP_OS_BYTE - bytes] = 0xff;
      bytes += chunk.length;
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // zlib's gzip header has mtime 0 and no file name; only the OS byte needs fixing.
  await pipeIntoNewFile(temporary, Readable.from(tarStream()), createGzip({ level: GZIP_LEVEL }), portableGzipHeader);
  const sha256 = hash.digest('hex');
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const sha256File = `${file}.sha256`;
  await writeFileAtomic(sha256File, sha256sumLine(sha256, file));
  return { file, sha256File, sha256, bytes, corpusVersion: manifest.corpusVersion, fixtureCount: manifest.fixtureCount, entries: planned.length, topFolder };
}

// ---------------------------------------------------------------------------
// Unpacking

export interface UnpackOptions {
  limits?: Partial<ArchiveLimits>;
  /**
   * How messages name the archive (default: archivePath). fetchCorpus passes the
   * URL or path the user gave, not the temporary file it downloaded to.
   */
  source?: string;
  /**
   * Stop unpacking when this aborts (fetchCorpus's --timeout and signals): checked
   * before every decompressed chunk; the abort reason is thrown (as it is when it
   * is a ConformanceError, otherwise wrapped in E_ARCHIVE).
   */
  signal?: AbortSignal;
}

export interface UnpackResult {
  /** The archive's top folder (stripped: its content is what lands in the destination). */
  topFolder: string;
  /** The corpus version the top folder names (`conv2d-backward-fixtures-<version>`). */
  versionInName: string;
  entries: number;
  files: number;
  /** Sum of the file sizes. */
  fileBytes: number;
  /** Size of the decompressed tar stream. */
  unpackedBytes: number;
}

const SAFE_SEGMENT = /^[A-Za-z0-9._+-]+$/;
const TOP_FOLDER = new RegExp(`^${ARCHIVE_NAME_PREFIX}-([A-Za-z0-9.+-]+)$`);
const ACCEPTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** What an entry type is, for a refusal message. */
function describeType(type: string, linkpath: string | undefined): string {
  switch (type) {
    case 'SymbolicLink':
      return `a symbolic link (to ${describeValue(linkpath)})`;
    case 'Link':
      return `a hard link (to ${describeValue(linkpath)})`;
    case 'CharacterDevice':
      return 'a character device';
    case 'BlockDevice':
      return 'a block device';
    case 'FIFO':
      return 'a FIFO';
    default:
      return `an entry of type ${describeValue(type)}`;
  }
}

/** What an aborted signal stands for, as the error to throw. */
function abortReason(signal: AbortSignal, label: string, archivePath: string): Error {
  const reason: unknown = signal.reason;
  if (isConformanceError(reason)) return reason;
  return archiveError(`${label}: unpacking stopped: ${reason instanceof Error ? reason.message : String(reason)}`, { archivePath });
}

/**
 * The segments of a safe entry path, or the reason it is not safe. A folder's
 * path may end with one '/'.
 */
export function checkEntryPath(path: string): { segments: string[] } | { reason: string } {
  if (path === '') return { reason: 'empty path' };
  if (path.startsWith('/')) return { reason: 'absolute path' };
  if (/^[A-Za-z]:/.test(path)) return { reason: 'path with a drive letter' };
  if (path.includes('\\')) return { reason: 'path with a backslash' };
  const segments = (path.endsWith('/') ? path.slice(0, -1) : path).split('/');
  for (const segment of segments) {
    if (segment === '..') return { reason: "path with a '..' segment (it would escape the destination)" };
    if (segment === '.' || segment === '') return { reason: "path with an empty or '.' segment" };
    if (!SAFE_SEGMENT.test(segment)) return { reason: `path segment ${describeValue(segment)} has characters outside [A-Za-z0-9._+-]` };
  }
  return { segments };
}

/**
 * Unpack a corpus archive into `destDir` (which must exist and be empty), without
 * its top folder: `destDir/manifest.json`, `destDir/<fixture id>/...`. Refuses
 * unsafe or oversized archives (see the module comment) with E_ARCHIVE naming the
 * archive and the entry; what was unpacked before a refusal is left in `destDir`
 * for the caller to discard (fetchCorpus unpacks into a temporary folder).
 */
export async function unpackArchive(archivePath: string, destDir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const limits = resolveArchiveLimits(options.limits);
  const label = options.source ?? archivePath;
  const existing = await readdir(destDir).catch((error: NodeJS.ErrnoException) => {
    throw archiveError(`${destDir}: expected an existing empty folder to unpack into, found ${error.code === 'ENOENT' ? 'nothing' : error.message}`, { destDir });
  });
  if (existing.length > 0) {
    throw archiveError(`${destDir}: expected an empty folder to unpack into, found ${existing.length} entr${existing.length === 1 ? 'y' : 'ies'} (${describeValue(existing.slice(0, 3))})`, {
      destDir,
    });
  }
  const archive = await stat(archivePath).catch((error: NodeJS.ErrnoException) => {
    throw archiveError(`${label}: expected a .tar.gz archive, found ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { archivePath });
  });
  if (!archive.isFile()) throw archiveError(`${label}: expected a .tar.gz archive file, found a ${archive.isDirectory() ? 'folder' : 'special file'}`, { archivePath });
  if (archive.size > limits.maxArchiveBytes) {
    throw archiveError(`${label}: archive too large: expected at most ${limits.maxArchiveBytes} bytes, found ${archive.size}`, {
      archivePath,
      limit: limits.maxArchiveBytes,
      found: archive.size,
    });
  }
  const unpackedLimit = unpackedLimitFor(archive.size, limits);
  const magic = Buffer.alloc(2);
  const probe = await open(archivePath, 'r');
  try {
    await probe.read(magic, 0, 2, 0);
  } finally {
    await probe.close();
  }
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) {
    throw archiveError(`${label}: expected a gzip-compressed tar (first bytes 1f 8b), found ${[...magic].map((byte) => byte.toString(16).padStart(2, '0')).join(' ')}`, {
      archivePath,
    });
  }

  let refusal: ConformanceError | undefined;
  const refuse = (message: string, context: Record<string, unknown>): false => {
    refusal ??= archiveError(`${label}: ${message}`, { archivePath, ...context });
    return false;
  };
  const refused = new WeakSet<object>();
  const seen = new Set<string>();
  let topFolder: string | undefined;
  let entries = 0;
  let files = 0;
  let fileBytes = 0;

  const filter = (path: string, entry: unknown): boolean => {
    const readEntry = entry as ReadEntry;
    refused.add(readEntry);
    if (refusal !== undefined) return false;
    entries += 1;
    if (entries > limits.maxEntries) return refuse(`too many entries: expected at most ${limits.maxEntries}`, { limit: limits.maxEntries });
    if (!ACCEPTED_TYPES.has(readEntry.type)) {
      return refuse(`entry ${describeValue(path)} is ${describeType(readEntry.type, readEntry.linkpath)}: only plain files and folders are accepted`, {
        entry: path,
        type: readEntry.type,
      });
    }
    const checked = checkEntryPath(path);
    if ('reason' in checked) return refuse(`entry ${describeValue(path)} refused: ${checked.reason}`, { entry: path });
    const { segments } = checked;
    const isFolder = readEntry.type === 'Directory';
    const match = TOP_FOLDER.exec(segments[0]);
    if (match === null) {
      return refuse(`entry ${describeValue(path)} is outside the top folder: expected every entry under ${ARCHIVE_NAME_PREFIX}-<version>/`, { entry: path });
    }
    if (topFolder === undefined) topFolder = segments[0];
    if (segments[0] !== topFolder) {
      return refuse(`entry ${describeValue(path)} is outside the top folder: expected every entry under ${topFolder}/ (the first entry's)`, { entry: path, topFolder });
    }
    if (segments.length === 1 && !isFolder) return refuse(`entry ${describeValue(path)}: expected the top folder, found a file`, { entry: path });
    const key = segments.join('/');
    if (seen.has(key)) return refuse(`entry ${describeValue(path)} appears twice`, { entry: path });
    seen.add(key);
    if (!isFolder) {
      files += 1;
      fileBytes += readEntry.size;
      if (fileBytes > unpackedLimit.bytes) {
        return refuse(
          `too large unpacked: the files' declared sizes add up to ${fileBytes} bytes at entry ${describeValue(path)}, expected at most ${unpackedLimit.bytes} (${unpackedLimit.rule})`,
          { entry: path, limit: unpackedLimit.bytes, reached: fileBytes },
        );
      }
    }
    // Permissions come from us, not from the archive.
    readEntry.mode = isFolder ? FOLDER_MODE : FILE_MODE;
    refused.delete(readEntry);
    return true;
  };

  const unpack = new Unpack({
    cwd: destDir,
    strip: 1,
    strict: true,
    filter,
    preservePaths: false,
    preserveOwner: false,
    noMtime: true,
    maxDepth: 16,
  });
  // Entries the parser skips without asking the filter (unknown types, oversized metadata).
  unpack.on('ignoredEntry', (entry: ReadEntry) => {
    if (!refused.has(entry)) refuse(`entry ${describeValue(entry.path)} is ${describeType(entry.type, entry.linkpath)}: only plain files and folders are accepted`, { entry: entry.path });
  });
  let unpackError: Error | undefined;
  unpack.on('error', (error: Error) => {
    unpackError ??= error;
  });
  // 'close' follows the end of the input once every file is written, errors or not; 'abort' ends it early.
  const settled = new Promise<void>((resolve) => {
    unpack.on('close', () => resolve());
    unpack.on('abort', () => resolve());
  });

  const gunzip = createGunzip();
  const source = createReadStream(archivePath);
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  // tar's parser keeps every byte that follows the end-of-archive marker, concatenating the
  // whole kept tail with each new chunk (Buffer.concat): quadratic time and linear memory in
  // the size of a gzip bomb of zeros. So once it reports the marker ('eof'), nothing more is
  // written into it: the rest of the stream is only counted (at most MAX_TRAILING_BYTES).
  // Writes respect its back-pressure, so it reports the marker before the next chunk.
  let tarEnded = false;
  unpack.on('eof', () => {
    tarEnded = true;
  });
  let unpackedBytes = 0;
  let trailingBytes = 0;
  let streamError: unknown;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (options.signal?.aborted) throw abortReason(options.signal, label, archivePath);
      if (unpackedBytes === 0 && chunk.length >= 2 && ((chunk[0] === 0x1f && chunk[1] === 0x8b) || (chunk[0] === 0x28 && chunk[1] === 0xb5))) {
        throw archiveError(`${label}: expected a tar inside the gzip stream, found another compressed stream`, { archivePath });
      }
      unpackedBytes += chunk.length;
      if (unpackedBytes > unpackedLimit.bytes) {
        throw archiveError(
          `${label}: too large unpacked: expected at most ${unpackedLimit.bytes} bytes of tar data (${unpackedLimit.rule}), reached ${unpackedBytes} bytes and stopped`,
          { archivePath, limit: unpackedLimit.bytes, reached: unpackedBytes },
        );
      }
      if (tarEnded) {
        trailingBytes += chunk.length;
        if (trailingBytes > MAX_TRAILING_BYTES) {
          throw archiveError(
            `${label}: data after the tar's end-of-archive marker: expected at most ${MAX_TRAILING_BYTES} bytes of padding, reached ${trailingBytes} bytes and stopped`,
            { archivePath, limit: MAX_TRAILING_BYTES, reached: trailingBytes },
          );
        }
        continue;
      }
      if (!unpack.write(chunk)) await Promise.race([once(unpack, 'drain'), settled]);
    }
  } catch (error) {
    streamError = error;
    source.destroy();
    gunzip.destroy();
  }
  // Always let the unpacker finish (a truncated input makes it report the damage), so
  // that no file is still being written when the caller removes the folder.
  unpack.end();
  await settled;
  if (refusal !== undefined) throw refusal;
  const failure = streamError ?? unpackError;
  if (failure !== undefined) {
    if (isConformanceError(failure)) throw failure;
    const message = failure instanceof Error ? failure.message : String(failure);
    throw archiveError(`${label}: damaged or not a corpus archive: ${message}`, { archivePath, cause: message });
  }
  if (topFolder === undefined) throw archiveError(`${label}: expected a corpus under ${ARCHIVE_NAME_PREFIX}-<version>/, found an empty archive`, { archivePath });
  const versionInName = (TOP_FOLDER.exec(topFolder) as RegExpExecArray)[1];
  return { topFolder, versionInName, entries, files, fileBytes, unpackedBytes };
}
