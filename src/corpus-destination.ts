/**
 * Which folders the corpus writers may replace: `conv2d-fixtures fetch --dest DIR`
 * and `generate-fixtures --out DIR` both call checkReplaceableDestination before
 * anything is written, so both refuse the same folders with the same words.
 *
 * Replaceable: nothing at that path, an empty folder, or a corpus folder: one whose
 * manifest.json loads (schema and digest) and which holds nothing but that
 * manifest, the auxiliary files (witness-report.json) and the fixture folders the
 * manifest lists, each holding only files the manifest lists. The bytes of those
 * files are not hashed here: a damaged corpus may be replaced (that is what a
 * fetch repairs), a folder holding anything else may not (it is someone's data).
 * Refused: a symbolic link (replacing it would put a real folder in place of the
 * link), a file or any other kind of entry, and a folder with other content.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { ConformanceError, describeValue, isConformanceError } from './errors.js';
import { CORPUS_AUXILIARY_FILES, MANIFEST_FILE, loadManifest } from './manifest.js';

export type DestinationState =
  | { status: 'missing' }
  | { status: 'empty' }
  | { status: 'corpus'; corpusVersion: string; digest: string };

/** The words for what an lstat found ("a symbolic link", "a FIFO", ...), as verify and the runner say them. */
export function describeKind(info: Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFile()) return 'a file';
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'a special file';
}

const EXPECTED = `expected nothing, an empty folder or a corpus folder (${MANIFEST_FILE} and only the fixture folders it lists)`;

function refusal(dest: string, found: string, context: Record<string, unknown> = {}, hint = ''): ConformanceError {
  return new ConformanceError('E_USAGE', `${dest}: ${EXPECTED}, found ${found}: refusing to replace it${hint === '' ? '' : ` (${hint})`}`, { dest, ...context });
}

async function lstatIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What in `dir` is not part of the corpus its manifest describes (paths relative to `dir`), at most `max` of them. */
async function foreignEntries(dir: string, listed: Map<string, readonly string[]>, max: number): Promise<string[]> {
  const foreign: string[] = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    if (foreign.length >= max) break;
    if (item.isFile() && (item.name === MANIFEST_FILE || CORPUS_AUXILIARY_FILES.includes(item.name))) continue;
    const files = listed.get(item.name);
    if (files === undefined || !item.isDirectory()) {
      foreign.push(item.isDirectory() ? `${item.name}/` : item.name);
      continue;
    }
    for (const inner of await readdir(join(dir, item.name), { withFileTypes: true })) {
      if (foreign.length >= max) break;
      if (!inner.isFile() || !files.includes(inner.name)) foreign.push(`${item.name}/${inner.name}${inner.isDirectory() ? '/' : ''}`);
    }
  }
  return foreign;
}

/**
 * Whether `dest` may be replaced by a corpus writer (see the module comment).
 * Throws E_USAGE naming what was found otherwise; never changes anything.
 */
export async function checkReplaceableDestination(dest: string): Promise<DestinationState> {
  const info = await lstatIfExists(dest);
  if (info === undefined) return { status: 'missing' };
  if (info.isSymbolicLink()) {
    const target = await readlink(dest);
    throw refusal(dest, `a symbolic link (to ${describeValue(target)})`, { target }, 'give the folder it points to');
  }
  if (!info.isDirectory()) throw refusal(dest, describeKind(info));
  const names = (await readdir(dest, { withFileTypes: true })).map((item) => (item.isDirectory() ? `${item.name}/` : item.name));
  if (names.length === 0) return { status: 'empty' };
  const shown = (list: string[]): string => list.map((name) => describeValue(name)).join(', ');
  let manifest;
  try {
    manifest = await loadManifest(dest);
  } catch (error) {
    if (!isConformanceError(error)) throw error;
    const sample = names.slice(0, 3);
    const more = names.length > sample.length ? `, ... (${names.length} entries)` : '';
    const why = error.code === 'E_MISSING_FILE' || error.context.code === 'ENOENT' ? `no ${MANIFEST_FILE}` : `no valid corpus manifest (${error.message})`;
    throw refusal(dest, `a folder with other content (${shown(sample)}${more}) and ${why}`, { names: sample });
  }
  const listed = new Map(manifest.fixtures.map((entry) => [entry.path, Object.keys(entry.files)]));
  const foreign = await foreignEntries(dest, listed, 3);
  if (foreign.length > 0) {
    throw refusal(dest, `a corpus folder with other content too (${shown(foreign)}${foreign.length >= 3 ? ', ...' : ''}: not listed in its ${MANIFEST_FILE})`, {
      foreign,
    });
  }
  return { status: 'corpus', corpusVersion: manifest.corpusVersion, digest: manifest.digest };
}
