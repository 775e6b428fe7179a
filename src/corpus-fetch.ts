/**
 * Install a corpus from an archive made by packCorpus: from an http(s) URL (Node's
 * built-in fetch), a file: URL or a local path.
 *
 *   1. stream the archive into a temporary file beside `dest`, refusing more than
 *      limits.maxArchiveBytes, hashing it on the way;
 *   2. compare its sha256 with the one given, if any;
 *   3. unpack it (src/corpus-archive.ts: entry and size checks) into a temporary
 *      folder beside `dest`, and verify the corpus there (manifest, every checksum,
 *      every fixture loaded);
 *   4. only then swap that folder into `dest` (replaceDirectoryAtomically).
 *
 * Any failure leaves `dest` exactly as it was and removes the temporary files.
 * `dest` must be missing, an empty folder, or a corpus folder (it has a
 * manifest.json): fetchCorpus never replaces a folder that is something else.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pipeIntoNewFile, replaceDirectoryAtomically, siblingName, statIfExists } from './atomic-write.js';
import { type ArchiveLimits, resolveArchiveLimits, unpackArchive } from './corpus-archive.js';
import { ConformanceError, describeValue } from './errors.js';
import { MANIFEST_FILE, loadManifest, verifyCorpus } from './manifest.js';

export type FetchPhase = 'download' | 'unpack' | 'verify' | 'install';

export interface FetchProgress {
  phase: FetchPhase;
  /** Bytes of the archive received so far (download phase). */
  bytes?: number;
  /** The archive's size when known (Content-Length, or the local file's size). */
  totalBytes?: number;
}

export interface FetchOptions {
  /** Expected sha256 of the archive (64 hex digits, any case). */
  sha256?: string;
  onProgress?: (progress: FetchProgress) => void;
  limits?: Partial<ArchiveLimits>;
  /** Give up on an http(s) download after this many milliseconds (default 10 minutes). */
  timeoutMs?: number;
}

export interface FetchResult {
  source: string;
  dest: string;
  /** sha256 of the archive as received. */
  sha256: string;
  archiveBytes: number;
  corpusVersion: string;
  fixtureCount: number;
  /** The manifest digest of the installed corpus. */
  digest: string;
  /** Whether `dest` held something (a corpus or an empty folder) that was replaced. */
  replaced: boolean;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 10 * 60 * 1000;

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

function fetchError(message: string, context: Record<string, unknown>): ConformanceError {
  return new ConformanceError('E_FETCH', message, context);
}

type Source = { kind: 'url'; url: URL } | { kind: 'file'; path: string };

/** http(s) URLs are downloaded, file: URLs and anything without a scheme are local paths. */
export function parseSource(source: string): Source {
  if (source.trim() === '') throw new ConformanceError('E_USAGE', 'source: expected an http(s) URL or a path to a .tar.gz, found an empty string', { source });
  // A scheme of two letters or more (one letter is a Windows drive: C:\...).
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(source)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'file', path: resolve(source) };
  let url: URL;
  try {
    url = new URL(source);
  } catch (error) {
    throw new ConformanceError('E_USAGE', `source ${describeValue(source)}: expected a valid URL, found one that does not parse (${(error as Error).message})`, { source });
  }
  if (scheme === 'http' || scheme === 'https') return { kind: 'url', url };
  if (scheme === 'file') return { kind: 'file', path: fileURLToPath(url) };
  throw new ConformanceError('E_USAGE', `source ${describeValue(source)}: expected an http:, https: or file: URL or a local path, found the scheme ${scheme}:`, { source });
}

/** A URL without its user:password part, for messages. */
function describeUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** Refuse a `dest` that is neither missing, nor an empty folder, nor a corpus folder. Returns whether it exists. */
async function checkDestination(dest: string): Promise<boolean> {
  const found = await statIfExists(dest);
  if (found === undefined) return false;
  if (!found.isDirectory()) throw fetchError(`${dest}: expected a corpus folder, an empty folder or nothing, found a file: refusing to replace it`, { dest });
  const names = await readdir(dest);
  if (names.length > 0 && !names.includes(MANIFEST_FILE)) {
    throw fetchError(`${dest}: expected a corpus folder (with ${MANIFEST_FILE}), an empty folder or nothing, found a folder with other content: refusing to replace it`, {
      dest,
    });
  }
  return true;
}

/** Stream `body` into `file`, hashing it and refusing more than `maxBytes`. */
async function saveCapped(
  body: Readable,
  file: string,
  maxBytes: number,
  describeSource: string,
  onBytes: (bytes: number) => void,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        callback(fetchError(`${describeSource}: archive too large: expected at most ${maxBytes} bytes, received more`, { source: describeSource, limit: maxBytes }));
        return;
      }
      hash.update(chunk);
      onBytes(bytes);
      callback(null, chunk);
    },
  });
  await pipeIntoNewFile(file, body, counter);
  return { sha256: hash.digest('hex'), bytes };
}

async function download(source: Source, file: string, limits: ArchiveLimits, options: FetchOptions): Promise<{ sha256: string; bytes: number }> {
  const progress = (bytes: number, totalBytes: number | undefined): void => options.onProgress?.({ phase: 'download', bytes, totalBytes });
  if (source.kind === 'file') {
    const found = await stat(source.path).catch((error: NodeJS.ErrnoException) => {
      throw fetchError(`${source.path}: expected a .tar.gz archive, found ${error.code === 'ENOENT' ? 'no such file' : error.message}`, { source: source.path });
    });
    if (!found.isFile()) throw fetchError(`${source.path}: expected a .tar.gz archive file, found a ${found.isDirectory() ? 'folder' : 'special file'}`, { source: source.path });
    if (found.size > limits.maxArchiveBytes) {
      throw fetchError(`${source.path}: archive too large: expected at most ${limits.maxArchiveBytes} bytes, found ${found.size}`, {
        source: source.path,
        limit: limits.maxArchiveBytes,
      });
    }
    progress(0, found.size);
    return saveCapped(createReadStream(source.path), file, limits.maxArchiveBytes, source.path, (bytes) => progress(bytes, found.size));
  }

  const where = describeUrl(source.url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  let response: Response;
  try {
    // identity: the archive's bytes as published (no transparent decompression), so the sha256 is of the file itself.
    response = await fetch(source.url, { headers: { 'accept-encoding': 'identity' }, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw fetchError(`${where}: download failed: ${describeFetchFailure(error, timeoutMs)}`, { source: where });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw fetchError(`${where}: expected HTTP 200, found ${response.status} ${response.statusText}`.trimEnd(), { source: where, status: response.status });
  }
  if (response.body === null) throw fetchError(`${where}: expected an archive, found an empty response`, { source: where });
  const declared = response.headers.get('content-length');
  const totalBytes = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (totalBytes !== undefined && totalBytes > limits.maxArchiveBytes) {
    await response.body.cancel();
    throw fetchError(`${where}: archive too large: expected at most ${limits.maxArchiveBytes} bytes, the server announces ${totalBytes}`, {
      source: where,
      limit: limits.maxArchiveBytes,
    });
  }
  progress(0, totalBytes);
  let saved: { sha256: string; bytes: number };
  let received = 0;
  try {
    saved = await saveCapped(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), file, limits.maxArchiveBytes, where, (bytes) => {
      received = bytes;
      progress(bytes, totalBytes);
    });
  } catch (error) {
    if (error instanceof ConformanceError) throw error;
    // A connection cut or timed out in the middle of the body: say how far it got.
    const failure = describeFetchFailure(error, timeoutMs);
    const message =
      totalBytes === undefined
        ? `${where}: download failed after ${received} bytes: ${failure}`
        : `${where}: download incomplete: expected ${totalBytes} bytes (Content-Length), received ${received}: ${failure}`;
    throw fetchError(message, { source: where, received, totalBytes });
  }
  if (totalBytes !== undefined && saved.bytes !== totalBytes) {
    throw fetchError(`${where}: download incomplete: expected ${totalBytes} bytes (Content-Length), received ${saved.bytes}`, { source: where });
  }
  return saved;
}

function describeFetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no complete answer within ${timeoutMs} ms`;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}

/**
 * Download (or read) a corpus archive, check it, and install its corpus into
 * `dest`. See the module comment. Errors: E_USAGE (bad source or sha256),
 * E_FETCH (download, size, sha256, destination), E_ARCHIVE (unsafe or damaged
 * archive, or a corpus that does not verify).
 */
export async function fetchCorpus(source: string, dest: string, options: FetchOptions = {}): Promise<FetchResult> {
  const parsed = parseSource(source);
  const describeSource = parsed.kind === 'url' ? describeUrl(parsed.url) : parsed.path;
  const expectedSha256 = options.sha256?.toLowerCase();
  if (options.sha256 !== undefined && !SHA256_HEX.test(options.sha256)) {
    throw new ConformanceError('E_USAGE', `sha256: expected 64 hexadecimal digits, found ${describeValue(options.sha256)}`, { sha256: options.sha256 });
  }
  const limits = resolveArchiveLimits(options.limits);
  const target = resolve(dest);
  const existed = await checkDestination(target);

  await mkdir(dirname(target), { recursive: true });
  const archiveFile = `${siblingName(target, 'tmp')}.tar.gz`;
  try {
    const received = await download(parsed, archiveFile, limits, options);
    if (expectedSha256 !== undefined && received.sha256 !== expectedSha256) {
      throw fetchError(`${describeSource}: sha256 does not match: expected ${expectedSha256}, found ${received.sha256}`, {
        source: describeSource,
        expected: expectedSha256,
        found: received.sha256,
      });
    }
    let installed: { corpusVersion: string; fixtureCount: number; digest: string } | undefined;
    await replaceDirectoryAtomically(target, async (temporary) => {
      options.onProgress?.({ phase: 'unpack' });
      const unpacked = await unpackArchive(archiveFile, temporary, { limits, source: describeSource });
      options.onProgress?.({ phase: 'verify' });
      const problems = await verifyCorpus(temporary, { deep: true });
      if (problems.length > 0) {
        const shown = problems.slice(0, 20).map((problem) => `  ${problem.path}: ${problem.problem}`);
        if (problems.length > shown.length) shown.push(`  ... and ${problems.length - shown.length} more`);
        throw new ConformanceError(
          'E_ARCHIVE',
          `${describeSource}: the corpus in the archive does not verify (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${shown.join('\n')}`,
          { source: describeSource, problems },
        );
      }
      const manifest = await loadManifest(temporary);
      if (manifest.corpusVersion !== unpacked.versionInName) {
        throw new ConformanceError(
          'E_ARCHIVE',
          `${describeSource}: top folder ${unpacked.topFolder} names corpus version ${unpacked.versionInName}, but ${MANIFEST_FILE} has corpusVersion ${manifest.corpusVersion}`,
          { source: describeSource, topFolder: unpacked.topFolder, corpusVersion: manifest.corpusVersion },
        );
      }
      installed = { corpusVersion: manifest.corpusVersion, fixtureCount: manifest.fixtureCount, digest: manifest.digest };
      options.onProgress?.({ phase: 'install' });
    });
    const done = installed as NonNullable<typeof installed>;
    return { source: describeSource, dest: target, sha256: received.sha256, archiveBytes: received.bytes, ...done, replaced: existed };
  } finally {
    await rm(archiveFile, { force: true });
  }
}
