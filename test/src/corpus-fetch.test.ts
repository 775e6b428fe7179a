/**
 * fetchCorpus end to end: a subset corpus packed, served from 127.0.0.1 (and read
 * from a local path and a file: URL), installed into a new folder and over an older
 * corpus; then every refusal, each with a message naming the source and what was
 * expected and found, and the destination left exactly as it was (same tree digest,
 * no temporary file or folder left beside it).
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { packCorpus } from '../../src/corpus-archive.js';
import { fetchCorpus, parseSource, redactSource, type FetchOptions, type FetchProgress } from '../../src/corpus-fetch.js';
import { isConformanceError, type ErrorCode } from '../../src/errors.js';
import { sha256Hex } from '../../src/hash.js';
import { loadManifest, verifyCorpus } from '../../src/manifest.js';
import { copySubsetCorpus, corpusEntries, craftArchive, serveFiles, treeDigest, type CraftedEntry, type FileServer, type SubsetCorpus } from '../helpers/corpus-subset.js';

const TOP = 'conv2d-backward-fixtures-1.0.0-subset';

let root = '';
/** The corpus served: copySubsetCorpus's default five fixtures, version 1.0.0-subset. */
let subset: SubsetCorpus;
/** An older corpus (two of those fixtures, version 0.9.0-old) that destinations hold before a fetch. */
let older: SubsetCorpus;
let archive: Buffer;
let archiveSha256 = '';
let archiveFile = '';
let server: FileServer;

/** The archive with one byte of the compressed stream flipped (its middle byte: deflate data, not the gzip header). */
let tampered: Buffer;
/** gzip and tar intact, but one byte of one .npy changed inside: only the corpus verification can notice. */
let tamperedInside: Buffer;
const half = (): number => Math.floor(archive.length / 2);

t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'corpus-fetch-'));
  subset = await copySubsetCorpus(join(root, 'subset'));
  older = await copySubsetCorpus(join(root, 'older'), { ids: subset.ids.slice(0, 2), corpusVersion: '0.9.0-old' });
  const packed = await packCorpus(subset.dir, { out: join(root, 'packed/') });
  archiveFile = packed.file;
  archive = await readFile(packed.file);
  archiveSha256 = packed.sha256;

  tampered = Buffer.from(archive);
  tampered[half()] ^= 0xff;

  const entries = await corpusEntries(subset.dir, TOP);
  const target = entries.find((entry) => entry.path === `${TOP}/${subset.ids[0]}/dx.npy`) as CraftedEntry;
  const changed = Buffer.from(target.body as Uint8Array);
  changed[changed.length - 1] ^= 0x01; // the last byte of the data: a value, not the header
  tamperedInside = craftArchive(entries.map((entry) => (entry === target ? { ...entry, body: changed } : entry)));

  const good = await corpusEntries(subset.dir, TOP);
  const escaping = (entry: CraftedEntry): Buffer => craftArchive([...good.slice(0, 3), entry, ...good.slice(3)]);
  const escapee = new TextEncoder().encode('escaped\n');

  server = await serveFiles({
    '/good.tar.gz': { body: archive },
    '/tampered.tar.gz': { body: tampered },
    '/tampered-inside.tar.gz': { body: tamperedInside },
    // Content-Length announces the whole archive; the connection is cut halfway.
    '/cut.tar.gz': { body: archive, cutAfter: half() },
    // The first half only, with a Content-Length that matches it: a complete response of a truncated file.
    '/truncated.tar.gz': { body: archive.subarray(0, half()) },
    '/dot-dot.tar.gz': { body: escaping({ path: '../x', type: 'File', body: escapee }) },
    '/top-dot-dot.tar.gz': { body: escaping({ path: `${TOP}/../x`, type: 'File', body: escapee }) },
    '/absolute.tar.gz': { body: escaping({ path: join(root, 'absolute-x'), type: 'File', body: escapee }) },
    '/symlink.tar.gz': { body: escaping({ path: `${TOP}/link`, type: 'SymbolicLink', linkpath: '/etc' }) },
    '/not-gzip.tar.gz': { body: new TextEncoder().encode('<html>a login page</html>\n') },
  });
});

t.teardown(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

/** A fresh parent folder for a destination (named after `name`, made safe for a path). */
function scratch(name: string): Promise<string> {
  return mkdtemp(join(root, `${name.replace(/[^A-Za-z0-9]+/g, '-')}-`));
}

/** A destination holding the older corpus, inside a fresh parent. */
async function destWithOlderCorpus(name: string): Promise<string> {
  const dest = join(await scratch(name), 'fixtures');
  await cp(older.dir, dest, { recursive: true });
  return dest;
}

interface Refusal {
  code: ErrorCode;
  /** Texts the message must contain. */
  expect: (string | RegExp)[];
}

/**
 * fetchCorpus must refuse `source` with `refusal.code`; checked twice: into a
 * destination holding the older corpus and into a missing one. Either way the
 * destination's parent folder must be exactly as before (same tree digest: no
 * temporary archive or folder, nothing escaped into it) and the destination unchanged.
 * Returns the message of the first attempt.
 */
async function expectRefusal(t: Test, name: string, source: string, options: FetchOptions, refusal: Refusal): Promise<string> {
  let first = '';
  for (const start of ['older corpus', 'missing'] as const) {
    const parent = await scratch(name);
    const dest = join(parent, 'fixtures');
    if (start === 'older corpus') await cp(older.dir, dest, { recursive: true });
    const destBefore = await treeDigest(dest);
    const parentBefore = await treeDigest(parent);
    const namesBefore = await readdir(parent);
    let message = '';
    try {
      await fetchCorpus(source, dest, options);
      t.fail(`${name} (${start}): expected ${refusal.code}, the fetch succeeded`);
    } catch (error) {
      t.ok(isConformanceError(error, refusal.code), `${name} (${start}): ${refusal.code}, found ${(error as Error).message}`);
      message = (error as Error).message;
    }
    for (const text of refusal.expect) t.match(message, text, `${name} (${start}): message has ${String(text)}`);
    t.equal(await treeDigest(dest), destBefore, `${name} (${start}): destination unchanged`);
    t.same(await readdir(parent), namesBefore, `${name} (${start}): nothing left beside the destination`);
    t.equal(await treeDigest(parent), parentBefore, `${name} (${start}): parent folder unchanged`);
    if (start === 'older corpus') t.same(await verifyCorpus(dest), [], `${name}: the older corpus still verifies`);
    first ||= message;
  }
  return first;
}

t.test('fetch over HTTP into a new folder: the corpus arrives byte for byte and verifies', async (t) => {
  const parent = await scratch('new');
  const dest = join(parent, 'deep', 'fixtures'); // missing parents are created
  const progress: FetchProgress[] = [];
  const url = server.url('/good.tar.gz');
  const result = await fetchCorpus(url, dest, { sha256: archiveSha256, onProgress: (event) => progress.push(event) });
  t.same(await verifyCorpus(dest, { deep: true }), []);
  t.equal(await treeDigest(dest), await treeDigest(subset.dir), 'same names and bytes as the packed corpus');
  t.same(result, {
    source: url,
    dest,
    sha256: archiveSha256,
    archiveBytes: archive.length,
    corpusVersion: '1.0.0-subset',
    fixtureCount: subset.ids.length,
    digest: subset.manifest.digest,
    replaced: false,
  });
  t.same(await readdir(join(parent, 'deep')), ['fixtures'], 'no temporary file left beside it');

  // Progress: download events (bytes growing to the whole archive, total from Content-Length), then one event per phase.
  const downloads = progress.filter((event) => event.phase === 'download');
  t.ok(downloads.length >= 2, 'a start event and at least one chunk');
  t.same(downloads[0], { phase: 'download', bytes: 0, totalBytes: archive.length });
  t.same(downloads[downloads.length - 1], { phase: 'download', bytes: archive.length, totalBytes: archive.length });
  t.ok(
    downloads.every((event, index) => index === 0 || (event.bytes as number) >= (downloads[index - 1].bytes as number)),
    'bytes never go down',
  );
  t.same(
    progress.filter((event) => event.phase !== 'download').map((event) => event.phase),
    ['unpack', 'verify', 'install'],
  );
  t.same(progress.slice(0, downloads.length), downloads, 'the download comes first');
});

t.test('fetch over a folder holding an older corpus replaces it whole', async (t) => {
  const dest = await destWithOlderCorpus('replace');
  t.equal((await loadManifest(dest)).corpusVersion, '0.9.0-old');
  // Upper-case hex is accepted: it is what some tools print.
  const result = await fetchCorpus(server.url('/good.tar.gz'), dest, { sha256: archiveSha256.toUpperCase() });
  t.equal(result.replaced, true);
  t.equal(result.sha256, archiveSha256);
  t.equal(await treeDigest(dest), await treeDigest(subset.dir));
  t.same(await verifyCorpus(dest, { deep: true }), []);
  t.same(await readdir(join(dest, '..')), ['fixtures'], 'no .old- or .tmp- folder left');
});

t.test('fetch into an empty folder, and without --sha256 (the manifest is still checked)', async (t) => {
  const dest = join(await scratch('empty'), 'fixtures');
  await mkdir(dest);
  const result = await fetchCorpus(server.url('/good.tar.gz'), dest);
  t.equal(result.replaced, true, 'an existing empty folder counts as replaced');
  t.equal(await treeDigest(dest), await treeDigest(subset.dir));
});

t.test('local sources: a path, a relative path and a file: URL', async (t) => {
  for (const [label, source] of [
    ['absolute path', archiveFile],
    ['relative path', relative(process.cwd(), archiveFile)],
    ['file: URL', pathToFileURL(archiveFile).href],
  ] as const) {
    const dest = await destWithOlderCorpus('local');
    const progress: FetchProgress[] = [];
    const result = await fetchCorpus(source, dest, { sha256: archiveSha256, onProgress: (event) => progress.push(event) });
    t.equal(result.source, archiveFile, `${label}: the source is named by its path`);
    t.equal(result.archiveBytes, archive.length, label);
    t.equal(await treeDigest(dest), await treeDigest(subset.dir), label);
    t.same(progress[0], { phase: 'download', bytes: 0, totalBytes: archive.length }, `${label}: the total is the file's size`);
  }
  t.same(parseSource('fixtures.tar.gz'), { kind: 'file', path: join(process.cwd(), 'fixtures.tar.gz') }, 'relative to the current folder');
  t.same(parseSource('C:\\corpus.tar.gz').kind, 'file', 'a one-letter scheme is a drive letter, not a URL');
  t.same(parseSource('HTTP://example.org/a.tar.gz').kind, 'url');
});

t.test('refused: a byte of the archive flipped in transit', async (t) => {
  const url = server.url('/tampered.tar.gz');
  // With the publisher's sha256, the hash catches it before anything is unpacked.
  const hashed = await expectRefusal(t, 'tampered, --sha256', url, { sha256: archiveSha256 }, {
    code: 'E_FETCH',
    expect: [url, `sha256 does not match: expected ${archiveSha256}, found ${sha256Hex(tampered)}`],
  });
  t.notMatch(hashed, '.tmp-', 'the message names the source, not a temporary file');
  // Without it, gzip's CRC-32 (or the deflate decoder) catches it while unpacking.
  const unpacked = await expectRefusal(t, 'tampered, no --sha256', url, {}, { code: 'E_ARCHIVE', expect: [url, 'damaged or not a corpus archive'] });
  t.notMatch(unpacked, '.tmp-', 'the message names the source, not a temporary file');
});

t.test('refused: an archive whose gzip and tar are intact but whose corpus was changed', async (t) => {
  const url = server.url('/tampered-inside.tar.gz');
  const message = await expectRefusal(t, 'tampered inside', url, {}, {
    code: 'E_ARCHIVE',
    expect: [url, 'the corpus in the archive does not verify (1 problem)', `${subset.ids[0]}/dx.npy: bytes changed: sha256 expected`],
  });
  t.notMatch(message, '.tmp-', 'the message names the source, not a temporary folder');
});

t.test('refused: a truncated archive', async (t) => {
  // The server announced the whole archive and cut the connection halfway.
  const cut = server.url('/cut.tar.gz');
  const announced = new RegExp(`download incomplete: expected ${archive.length} bytes \\(Content-Length\\), received (\\d+)`);
  const cutMessage = await expectRefusal(t, 'cut short', cut, {}, { code: 'E_FETCH', expect: [cut, announced] });
  // How many bytes arrived before the cut depends on the socket; never more than the half that was sent.
  t.ok(Number(announced.exec(cutMessage)?.[1]) <= half(), `received at most ${half()} bytes: ${cutMessage}`);
  // The server sent the first half as a complete response: gzip notices its stream ends early.
  const truncated = server.url('/truncated.tar.gz');
  const message = await expectRefusal(t, 'truncated', truncated, {}, { code: 'E_ARCHIVE', expect: [truncated, /damaged or not a corpus archive: .*(unexpected end|truncated)/i] });
  t.notMatch(message, '.tmp-', 'the message names the source, not a temporary file');
  // The same half as a local file.
  const localHalf = join(await scratch('half'), 'half.tar.gz');
  await writeFile(localHalf, archive.subarray(0, half()));
  await expectRefusal(t, 'truncated local file', localHalf, {}, { code: 'E_ARCHIVE', expect: [localHalf, 'damaged or not a corpus archive'] });
});

t.test('refused: a wrong or malformed --sha256', async (t) => {
  const url = server.url('/good.tar.gz');
  const wrong = sha256Hex(new TextEncoder().encode('another archive'));
  await expectRefusal(t, 'wrong sha256', url, { sha256: wrong }, { code: 'E_FETCH', expect: [url, `sha256 does not match: expected ${wrong}, found ${archiveSha256}`] });
  await expectRefusal(t, 'wrong sha256, local', archiveFile, { sha256: wrong }, { code: 'E_FETCH', expect: [archiveFile, `expected ${wrong}, found ${archiveSha256}`] });
  const before = server.requests.length;
  await expectRefusal(t, 'short sha256', url, { sha256: archiveSha256.slice(1) }, { code: 'E_USAGE', expect: ['sha256: expected 64 hexadecimal digits, found', archiveSha256.slice(1)] });
  await expectRefusal(t, 'non-hex sha256', url, { sha256: 'z'.repeat(64) }, { code: 'E_USAGE', expect: ['expected 64 hexadecimal digits'] });
  t.equal(server.requests.length, before, 'a malformed sha256 is refused before any download');
});

t.test('refused: entries that would escape the destination', async (t) => {
  const cases: { route: string; expect: string[] }[] = [
    { route: '/dot-dot.tar.gz', expect: ['entry "../x" refused', "'..' segment (it would escape the destination)"] },
    { route: '/top-dot-dot.tar.gz', expect: [`entry "${TOP}/../x" refused`, "'..' segment"] },
    { route: '/absolute.tar.gz', expect: [`entry "${join(root, 'absolute-x')}" refused: absolute path`] },
    { route: '/symlink.tar.gz', expect: [`entry "${TOP}/link" is a symbolic link (to "/etc"): only plain files and folders are accepted`] },
  ];
  for (const { route, expect } of cases) {
    const url = server.url(route);
    const message = await expectRefusal(t, route, url, {}, { code: 'E_ARCHIVE', expect: [url, ...expect] });
    t.notMatch(message, '.tmp-', `${route}: the message names the source, not a temporary file`);
  }
  // Nothing landed where the entries pointed: the absolute path, or beside the folders of root.
  t.same((await readdir(root)).filter((name) => name === 'x' || name === 'absolute-x'), [], 'no escaped file');
});

t.test('refused: HTTP errors and responses that are not an archive', async (t) => {
  const missing = server.url('/no-such-archive.tar.gz');
  await expectRefusal(t, '404', missing, {}, { code: 'E_FETCH', expect: [`${missing}: expected HTTP 200, found 404 Not Found`] });
  const notGzip = server.url('/not-gzip.tar.gz');
  await expectRefusal(t, 'not gzip', notGzip, {}, { code: 'E_ARCHIVE', expect: [notGzip, 'expected a gzip-compressed tar (first bytes 1f 8b), found 3c 68'] });
  // Nothing listens on this port any more: the connection is refused.
  const closed = await serveFiles({});
  const closedUrl = closed.url('/good.tar.gz');
  await closed.close();
  await expectRefusal(t, 'connection refused', closedUrl, {}, { code: 'E_FETCH', expect: [`${closedUrl}: download failed`] });
  await expectRefusal(t, 'unknown scheme', 'ftp://127.0.0.1/a.tar.gz', {}, { code: 'E_USAGE', expect: ['expected an http:, https: or file: URL or a local path, found the scheme ftp:'] });
  const nowhere = join(root, 'no-such-file.tar.gz');
  await expectRefusal(t, 'missing local file', nowhere, {}, { code: 'E_FETCH', expect: [`${nowhere}: expected a .tar.gz archive, found no such file`] });
  await expectRefusal(t, 'local folder', root, {}, { code: 'E_FETCH', expect: [`${root}: expected a .tar.gz archive file, found a folder`] });
});

t.test('refused: archives over the size limits', async (t) => {
  const url = server.url('/good.tar.gz');
  const limit = archive.length - 1;
  // The server announces its size: refused before the body is read.
  await expectRefusal(t, 'announced too large', url, { limits: { maxArchiveBytes: limit } }, {
    code: 'E_FETCH',
    expect: [`${url}: archive too large: expected at most ${limit} bytes, the server announces ${archive.length}`],
  });
  await expectRefusal(t, 'local too large', archiveFile, { limits: { maxArchiveBytes: limit } }, {
    code: 'E_FETCH',
    expect: [`${archiveFile}: archive too large: expected at most ${limit} bytes, found ${archive.length}`],
  });
  const tarBytes = gunzipSync(archive).length;
  await expectRefusal(t, 'unpacked too large', url, { limits: { maxUnpackedBytes: tarBytes - 1 } }, { code: 'E_ARCHIVE', expect: [url, 'too large unpacked: expected at most'] });
  await expectRefusal(t, 'too many entries', url, { limits: { maxEntries: 3 } }, { code: 'E_ARCHIVE', expect: [url, 'too many entries: expected at most 3'] });

  // A server that sends no Content-Length (chunked): the cap applies while the bytes arrive.
  const chunked = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/gzip' });
    // Two writes of a chunked body; the second crosses the limit.
    response.write(archive.subarray(0, half()));
    response.end(archive.subarray(half()));
  });
  await new Promise<void>((resolve) => chunked.listen(0, '127.0.0.1', resolve));
  try {
    const chunkedUrl = `http://127.0.0.1:${(chunked.address() as AddressInfo).port}/chunked.tar.gz`;
    await expectRefusal(t, 'streamed too large', chunkedUrl, { limits: { maxArchiveBytes: limit } }, {
      code: 'E_FETCH',
      expect: [`${chunkedUrl}: archive too large: expected at most ${limit} bytes, received more`],
    });
    // Under the default limits the same server delivers a good corpus.
    const dest = join(await scratch('chunked'), 'fixtures');
    const result = await fetchCorpus(chunkedUrl, dest, { sha256: archiveSha256 });
    t.equal(result.archiveBytes, archive.length);
    t.equal(await treeDigest(dest), await treeDigest(subset.dir));
  } finally {
    chunked.closeAllConnections();
    await new Promise<void>((resolve, reject) => chunked.close((error) => (error ? reject(error) : resolve())));
  }
});

t.test('refused: a destination that is not a corpus, an empty folder or nothing', async (t) => {
  const url = server.url('/good.tar.gz');
  const before = server.requests.length;
  const parent = await scratch('busy');
  const expected = 'expected nothing, an empty folder or a corpus folder (manifest.json and only the fixture folders it lists)';
  const busy = join(parent, 'my-project');
  await mkdir(join(busy, 'src'), { recursive: true });
  await writeFile(join(busy, 'notes.txt'), 'mine\n');
  // A web-app project: it has a manifest.json, which is not a corpus manifest.
  const webApp = join(parent, 'web-app');
  await mkdir(webApp);
  await writeFile(join(webApp, 'manifest.json'), '{"name": "app"}\n');
  const file = join(parent, 'a-file');
  await writeFile(file, 'not a folder\n');
  const link = join(parent, 'link');
  const real = await destWithOlderCorpus('real');
  await symlink(real, link);
  const digest = await treeDigest(parent);
  const realDigest = await treeDigest(real);
  await t.rejects(fetchCorpus(url, busy), {
    code: 'E_USAGE',
    message: `${busy}: ${expected}, found a folder with other content ("notes.txt", "src/") and no manifest.json: refusing to replace it`,
  });
  await t.rejects(fetchCorpus(url, webApp), { code: 'E_USAGE', message: new RegExp(`^${webApp}: .*found a folder with other content \\("manifest.json"\\) and no valid corpus manifest`) });
  await t.rejects(fetchCorpus(url, file), { code: 'E_USAGE', message: `${file}: ${expected}, found a file: refusing to replace it` });
  await t.rejects(fetchCorpus(url, link), {
    code: 'E_USAGE',
    message: `${link}: ${expected}, found a symbolic link (to ${JSON.stringify(real)}): refusing to replace it (give the folder it points to)`,
  });
  t.equal(await treeDigest(parent), digest, 'all left as they were, the link still a link');
  t.equal(await treeDigest(real), realDigest, 'and the corpus it points to unchanged');
  t.equal(server.requests.length, before, 'refused before any download');
});

t.test('a gzip bomb is refused quickly: destination unchanged, temporary files gone', async (t) => {
  // 64 MiB of zeros, about 64 KiB compressed: see test/src/corpus-archive.test.ts for why it used to take minutes.
  const bomb = gzipSync(Buffer.alloc(64 * 2 ** 20));
  const bombServer = await serveFiles({ '/bomb.tar.gz': { body: bomb } });
  t.teardown(() => bombServer.close());
  const url = bombServer.url('/bomb.tar.gz');
  const started = Date.now();
  await expectRefusal(t, 'gzip bomb', url, {}, { code: 'E_ARCHIVE', expect: [url, `data after the tar's end-of-archive marker: expected at most 65536 bytes of padding, reached`] });
  t.ok(Date.now() - started < 60_000, `both attempts refused in ${Date.now() - started} ms`);
});

t.test('--timeout covers the whole fetch: a stalled server, and an unpack that outlasts it', async (t) => {
  // The server sends half the archive and then nothing (the connection stays open).
  const stalled = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(archive.length) });
    response.write(archive.subarray(0, half()));
  });
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    stalled.closeAllConnections();
    stalled.close();
  });
  const url = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}/stalled.tar.gz`;
  // 500 ms: the first half arrives at once on 127.0.0.1; the test only needs the timer to fire.
  await expectRefusal(t, 'stalled', url, { timeoutMs: 500 }, {
    code: 'E_FETCH',
    expect: [`${url}: did not finish within 500 ms (the timeout covers download, unpack and verify): stopped during the download`],
  });
  // An aborted signal stops it before the download starts, with its reason.
  const controller = new AbortController();
  controller.abort(new Error('interrupted by SIGINT'));
  await expectRefusal(t, 'signal', server.url('/good.tar.gz'), { signal: controller.signal }, {
    code: 'E_FETCH',
    expect: [`stopped during the download: interrupted by SIGINT`],
  });
  await t.rejects(fetchCorpus(url, join(root, 'never'), { timeoutMs: 2 ** 31 }), {
    code: 'E_USAGE',
    message: `timeout: expected a whole number of milliseconds from 1 to ${2 ** 31 - 1} (about 24.8 days), found ${2 ** 31}`,
  });
});

t.test('secrets in URLs are never printed: user:password and query values', async (t) => {
  const seen: (string | undefined)[] = [];
  const authServer = createServer((request, response) => {
    seen.push(request.headers.authorization);
    response.writeHead(403, 'Forbidden');
    response.end();
  });
  await new Promise<void>((resolve) => authServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    authServer.closeAllConnections();
    authServer.close();
  });
  const port = (authServer.address() as AddressInfo).port;
  const secretUrl = `http://alice:s3cr3t-pw@127.0.0.1:${port}/corpus.tar.gz?token=t0k3n-value&sig=abc123def`;
  const redacted = `http://REDACTED:REDACTED@127.0.0.1:${port}/corpus.tar.gz?token=REDACTED&sig=REDACTED`;
  t.equal(redactSource(secretUrl), redacted);
  const message = await expectRefusal(t, 'forbidden', secretUrl, {}, { code: 'E_FETCH', expect: [`${redacted}: expected HTTP 200, found 403 Forbidden`] });
  for (const secret of ['alice', 's3cr3t-pw', 't0k3n-value', 'abc123def']) t.notMatch(message, secret, `${secret} is not in the message`);
  t.equal(seen[0], `Basic ${Buffer.from('alice:s3cr3t-pw').toString('base64')}`, 'the credentials went into an Authorization header');
  // Nothing listens there: the failure message comes from undici, and is scrubbed too.
  const closed = await serveFiles({});
  const closedUrl = `${closed.url('/x.tar.gz')}?token=t0k3n-value`.replace('http://', 'http://bob:hunter2@');
  await closed.close();
  const refused = await expectRefusal(t, 'connection refused', closedUrl, {}, { code: 'E_FETCH', expect: ['download failed'] });
  for (const secret of ['bob', 'hunter2', 't0k3n-value']) t.notMatch(refused, secret, `${secret} is not in the message`);
  // A scheme the fetch does not speak, and a URL that does not parse: the source is redacted there too.
  const ftp = await fetchCorpus('ftp://carol:pa55@127.0.0.1/a.tar.gz?k=v', join(root, 'never')).then(() => new Error('the fetch succeeded'), (error: unknown) => error as Error);
  t.equal(ftp.message, 'source "ftp://REDACTED:REDACTED@127.0.0.1/a.tar.gz?k=REDACTED": expected an http:, https: or file: URL or a local path, found the scheme ftp:');
  const broken = await fetchCorpus('http://dave:pa55w0rd@[bad/a.tar.gz', join(root, 'never')).then(() => new Error('the fetch succeeded'), (error: unknown) => error as Error);
  t.notMatch(broken.message, 'pa55w0rd');
  t.match(broken.message, 'expected a valid URL, found one that does not parse');
});

t.test('refused: a corpus whose top folder names another version than its manifest', async (t) => {
  const entries = await corpusEntries(subset.dir, 'conv2d-backward-fixtures-2.0.0');
  const mislabelled = join(await scratch('mislabelled'), 'conv2d-backward-fixtures-2.0.0.tar.gz');
  await writeFile(mislabelled, craftArchive(entries));
  await expectRefusal(t, 'mislabelled', mislabelled, {}, {
    code: 'E_ARCHIVE',
    expect: [mislabelled, 'top folder conv2d-backward-fixtures-2.0.0 names corpus version 2.0.0, but manifest.json has corpusVersion 1.0.0-subset'],
  });
});
