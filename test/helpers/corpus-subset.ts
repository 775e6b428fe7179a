/**
 * Helpers for the archive, fetch and CLI tests:
 *  - copySubsetCorpus: a few real fixture folders copied out of the bundled corpus,
 *    with their own manifest (buildManifest/readManifestEntry), so that packing and
 *    fetching stay fast;
 *  - treeDigest: one hash of a folder's names, kinds and bytes (to show a folder is unchanged);
 *  - craftArchive: a .tar.gz with any entries at all (unsafe ones included), to feed the
 *    unpacker what packCorpus would never write;
 *  - serveFiles: a throw-away HTTP server on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, readFile, readdir, readlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import { buildManifest, loadManifest, readManifestEntry, writeManifest } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';
import type { DataFamily, Manifest } from '../../src/types.js';

/** One fixture of each of these families (the first by id), then the first float16 fixture: 5 folders. */
const SUBSET_FAMILIES: readonly DataFamily[] = ['exact', 'normal', 'special', 'zeros'];

/**
 * The ids copySubsetCorpus takes from a manifest by default. bfloat16 fixtures (since corpus
 * 1.1.0) are left out, so that the subset stays the one these tests were written for.
 */
export function subsetIds(manifest: Manifest): string[] {
  const sorted = manifest.fixtures.filter((entry) => entry.dtype !== 'bfloat16').sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids: string[] = [];
  for (const family of SUBSET_FAMILIES) {
    const entry = sorted.find((candidate) => candidate.family === family);
    if (entry !== undefined) ids.push(entry.id);
  }
  const half = sorted.find((candidate) => candidate.dtype === 'float16' && !ids.includes(candidate.id));
  if (half !== undefined) ids.push(half.id);
  return ids;
}

export interface SubsetCorpus {
  dir: string;
  ids: string[];
  manifest: Manifest;
}

/** Copy fixture folders of the bundled corpus into `dir` (created) and write their manifest. */
export async function copySubsetCorpus(dir: string, options: { ids?: string[]; corpusVersion?: string } = {}): Promise<SubsetCorpus> {
  const source = bundledCorpusDir();
  const ids = options.ids ?? subsetIds(await loadManifest(source));
  await mkdir(dir, { recursive: true });
  for (const id of ids) await cp(join(source, id), join(dir, id), { recursive: true });
  const entries = await Promise.all(ids.map((id) => readManifestEntry(join(dir, id))));
  const manifest = buildManifest({ corpusVersion: options.corpusVersion ?? '1.0.0-subset', generator: { name: 'corpus-subset', version: '0.0.0' }, entries });
  await writeManifest(dir, manifest);
  return { dir, ids, manifest };
}

/**
 * sha256 over `<relative path> <kind> <sha256 of the bytes or link target>` lines of
 * everything under `dir`, sorted; 'missing' when `dir` does not exist.
 */
export async function treeDigest(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const path = join(folder, name);
      const info = await lstat(path);
      const relative = `${prefix}${name}`;
      if (info.isDirectory()) {
        lines.push(`${relative} folder`);
        await walk(path, `${relative}/`);
      } else if (info.isSymbolicLink()) {
        lines.push(`${relative} link ${await readlink(path)}`);
      } else {
        lines.push(`${relative} file ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
      }
    }
  };
  try {
    await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  await walk(dir, '');
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

export interface CraftedEntry {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  body?: Uint8Array;
  linkpath?: string;
}

/** The entries of a corpus folder as archive entries under `top/`, in packing order (folders before their files). */
export async function corpusEntries(dir: string, top: string): Promise<CraftedEntry[]> {
  const entries: CraftedEntry[] = [{ path: `${top}/`, type: 'Directory' }];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const path = join(folder, name);
      if ((await lstat(path)).isDirectory()) {
        entries.push({ path: `${prefix}${name}/`, type: 'Directory' });
        await walk(path, `${prefix}${name}/`);
      } else {
        entries.push({ path: `${prefix}${name}`, type: 'File', body: await readFile(path) });
      }
    }
  };
  await walk(dir, `${top}/`);
  return entries;
}

/** A tar (gzipped unless `gzip` is false) holding exactly `entries`, paths as given. */
export function craftArchive(entries: readonly CraftedEntry[], options: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.body ?? new Uint8Array(0);
    const data = { path: entry.path, type: entry.type, mode: entry.type === 'Directory' ? 0o755 : 0o644, uid: 0, gid: 0, size: body.length, mtime: new Date(0), linkpath: entry.linkpath };
    const header = new Header(data);
    if (header.encode()) blocks.push(new Pax(data).encode());
    blocks.push(header.block as Buffer);
    if (body.length > 0) {
      blocks.push(Buffer.from(body));
      const padding = (512 - (body.length % 512)) % 512;
      blocks.push(Buffer.alloc(padding));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return options.gzip === false ? tar : gzipSync(tar);
}

export interface Route {
  body: Uint8Array;
  /** Announce this Content-Length instead of the body's (a lying server). */
  contentLength?: number;
  /** Send this many bytes of the body, then cut the connection. */
  cutAfter?: number;
}

export interface FileServer {
  url(path: string): string;
  /** Requests received, by path. */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (random port) serving `routes`; 404 for anything else. */
export async function serveFiles(routes: Record<string, Route>): Promise<FileServer> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    requests.push(path);
    const route = routes[path];
    if (route === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(route.contentLength ?? route.body.length) });
    if (route.cutAfter !== undefined) {
      response.write(route.body.subarray(0, route.cutAfter), () => response.socket?.destroy());
      return;
    }
    response.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
