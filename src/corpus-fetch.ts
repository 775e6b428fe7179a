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
 * `dest` must be missing, an empty folder, or a corpus folder
 * (checkReplaceableDestination, src/corpus-destination.ts: the rule the generator
 * follows too); a symbolic link is refused. `timeoutMs` bounds the whole fetch
 * (download, unpack and verify), `signal` stops it at any point (a CLI passes
 * SIGINT/SIGTERM); either way the temporary files go. A URL's user:password and
 * query values are never printed: messages name the source through redactSource.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pipeIntoNewFile, recoverInterruptedSwap, replaceDirectoryAtomically, siblingName, trackTemporary, untrackTemporary } from './atomic-write.js';
import { type ArchiveLimits, resolveArchiveLimits, unpackArchive } from './corpus-archive.js';
import { checkReplaceableDestination } from './corpus-destination.js';
import { ConformanceError, describeValue, isConformanceError } from './errors.js';
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
  /** Give up on the whole fetch (download, unpack, verify) after this many milliseconds (default 10 minutes). */
  timeoutMs?: number;
  /** Stop the fetch when this aborts; its reason is thrown (wrapped in E_FETCH unless it is a ConformanceError). */
  signal?: AbortSignal;
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
/** The longest delay a Node timer holds (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

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
    throw new ConformanceError('E_USAGE', `source ${describeValue(redactSource(source))}: expected a valid URL, found one that does not parse (${scrubText((error as Error).message, source)})`, {
      source: redactSource(source),
    });
  }
  if (scheme === 'http' || scheme === 'https') return { kind: 'url', url };
  if (scheme === 'file') return { kind: 'file', path: fileURLToPath(url) };
  throw new ConformanceError('E_USAGE', `source ${describeValue(redactSource(source))}: expected an http:, https: or file: URL or a local path, found the scheme ${scheme}:`, {
    source: redactSource(source),
  });
}

const REDACTED = 'REDACTED';

/**
 * A URL as messages may show it: user:password replaced by REDACTED, every query
 * value by REDACTED (signed URLs carry their token there), no fragment.
 */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.username !== '') copy.username = REDACTED;
  if (copy.password !== '') copy.password = REDACTED;
  copy.hash = '';
  if (copy.search !== '') {
    const names = [...copy.searchParams.keys()];
    copy.search = '';
    for (const name of names) copy.searchParams.append(name, REDACTED);
  }
  return copy.href;
}

/** A source as the user gave it, safe to print: a URL redacted (redactUrl), a path as it is, text that only looks like a URL with `user:password@` and `?...` cut. */
export function redactSource(source: string): string {
  if (!/^[A-Za-z][A-Za-z0-9+.-]+:/.test(source)) return source;
  try {
    return redactUrl(new URL(source));
  } catch (error) {
    // Not a URL the WHATWG parser accepts (${(error as Error).message}): cut what could be credentials or tokens by hand.
    return source.replace(/\/\/[^/]*@/, `//${REDACTED}@`).replace(/[?#].*$/, `?${REDACTED}`);
  }
}

/** `text` with the secrets of `source` (user name, password, query) replaced by REDACTED: for messages that come from elsewhere (undici, URL). */
function scrubText(text: string, source: string): string {
  const secrets = new Set<string>();
  const userinfo = /^[A-Za-z][A-Za-z0-9+.-]+:\/\/([^/]*)@/.exec(source)?.[1];
  if (userinfo !== undefined) for (const part of [userinfo, ...userinfo.split(':')]) secrets.add(part);
  const query = /[?#](.*)$/.exec(source)?.[1];
  if (query !== undefined) for (const pair of [query, ...query.split(/[&#]/)]) secrets.add(pair.includes('=') ? pair.slice(pair.indexOf('=') + 1) : pair);
  let scrubbed = text.split(source).join(redactSource(source));
  for (const secret of [...secrets].sort((x, y) => y.length - x.length)) {
    if (secret.length === 0) continue;
    for (const form of new Set([secret, safeDecode(secret)])) scrubbed = scrubbed.split(form).join(REDACTED);
  }
  return scrubbed;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (error instanceof URIError) return text;
    throw error;
  }
}

/** Stream `body` into `file`, hashing it and refusing more than `maxBytes`. */
async function saveCapped(
  body: Readable,
  file: string,
  maxBytes: number,
  describeSource: string,
  onBytes: (bytes: number) => void,
  signal: AbortSignal,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (signal.aborted) {
        callback(signal.reason as Error);
        return;
      }
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

async function download(source: Source, file: string, limits: ArchiveLimits, options: FetchOptions, signal: AbortSignal): Promise<{ sha256: string; bytes: number }> {
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
    return saveCapped(createReadStream(source.path), file, limits.maxArchiveBytes, source.path, (bytes) => progress(bytes, found.size), signal);
  }

  const where = redactUrl(source.url);
  const scrub = (text: string): string => scrubText(text, source.url.href);
  let response: Response;
  try {
    // fetch() refuses a URL with credentials: they go into an Authorization header instead.
    const url = new URL(source.url.href);
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (url.username !== '' || url.password !== '') {
      headers.authorization = `Basic ${Buffer.from(`${safeDecode(url.username)}:${safeDecode(url.password)}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    // identity: the archive's bytes as published (no transparent decompression), so the sha256 is of the file itself.
    response = await fetch(url, { headers, redirect: 'follow', signal });
  } catch (error) {
    if (signal.aborted && isConformanceError(signal.reason)) throw signal.reason;
    throw fetchError(`${where}: download failed: ${scrub(describeFetchFailure(error))}`, { source: where });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw fetchError(`${where}: expected HTTP 200, found ${response.status} ${scrub(response.statusText)}`.trimEnd(), { source: where, status: response.status });
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
    }, signal);
  } catch (error) {
    if (error instanceof ConformanceError) throw error;
    if (signal.aborted && isConformanceError(signal.reason)) throw signal.reason;
    // A connection cut in the middle of the body: say how far it got.
    const failure = scrub(describeFetchFailure(error));
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

function describeFetchFailure(error: unknown): string {
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
  const describeSource = parsed.kind === 'url' ? redactUrl(parsed.url) : parsed.path;
  const expectedSha256 = options.sha256?.toLowerCase();
  if (options.sha256 !== undefined && !SHA256_HEX.test(options.sha256)) {
    throw new ConformanceError('E_USAGE', `sha256: expected 64 hexadecimal digits, found ${describeValue(options.sha256)}`, { sha256: options.sha256 });
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new ConformanceError('E_USAGE', `timeout: expected a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (about 24.8 days), found ${describeValue(timeoutMs)}`, {
      timeoutMs,
    });
  }
  const limits = resolveArchiveLimits(options.limits);
  const target = resolve(dest);
  await recoverInterruptedSwap(target);
  const existed = (await checkReplaceableDestination(target)).status !== 'missing';

  // One signal for the whole fetch: the caller's (SIGINT...) or the timeout, whichever comes first.
  let phase: FetchPhase = 'download';
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      fetchError(`${describeSource}: did not finish within ${timeoutMs} ms (the timeout covers download, unpack and verify): stopped during the ${phase}`, {
        source: describeSource,
        timeoutMs,
        phase,
      }),
    );
  }, timeoutMs);
  const forward = (): void => {
    const reason: unknown = options.signal?.reason;
    controller.abort(
      isConformanceError(reason)
        ? reason
        : fetchError(`${describeSource}: stopped during the ${phase}: ${reason instanceof Error ? reason.message : String(reason)}`, { source: describeSource, phase }),
    );
  };
  if (options.signal?.aborted) forward();
  options.signal?.addEventListener('abort', forward, { once: true });
  const { signal } = controller;
  const checkpoint = (next: FetchPhase): void => {
    if (signal.aborted) throw signal.reason;
    phase = next;
    options.onProgress?.({ phase: next });
  };

  await mkdir(dirname(target), { recursive: true });
  const archiveFile = `${siblingName(target, 'tmp')}.tar.gz`;
  trackTemporary(archiveFile);
  try {
    if (signal.aborted) throw signal.reason;
    const received = await download(parsed, archiveFile, limits, options, signal);
    if (expectedSha256 !== undefined && received.sha256 !== expectedSha256) {
      throw fetchError(`${describeSource}: sha256 does not match: expected ${expectedSha256}, found ${received.sha256}`, {
        source: describeSource,
        expected: expectedSha256,
        found: received.sha256,
      });
    }
    let installed: { corpusVersion: string; fixtureCount: number; digest: string } | undefined;
    await replaceDirectoryAtomically(target, async (temporary) => {
      checkpoint('unpack');
      const unpacked = await unpackArchive(archiveFile, temporary, { limits, source: describeSource, signal });
      checkpoint('verify');
      // Not interruptible inside: its cost is bounded by the unpacked size limit; the signal is checked after it.
      const problems = await verifyCorpus(temporary, { deep: true });
      if (signal.aborted) throw signal.reason;
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
      checkpoint('install');
    });
    const done = installed as NonNullable<typeof installed>;
    return { source: describeSource, dest: target, sha256: received.sha256, archiveBytes: received.bytes, ...done, replaced: existed };
  } catch (error) {
    // The timeout or a signal may surface as a stream's own abort error: report the reason instead.
    if (signal.aborted && isConformanceError(signal.reason) && !isConformanceError(error)) throw signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', forward);
    await rm(archiveFile, { force: true });
    untrackTemporary(archiveFile);
  }
}
