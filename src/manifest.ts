/**
 * The corpus manifest (fixtures/manifest.json) and whole-corpus verification.
 *
 * digest = sha256 of the concatenation, sorted by `<path>/<file>`, of the lines
 * `<fixture folder>/<file name> <sha256>\n` over every file of every fixture.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { ConformanceError, describeValue, isConformanceError } from './errors.js';
import { loadFixture, loadFixtureMeta } from './fixture-io.js';
import { sha256Hex } from './hash.js';
import { FIXTURE_META_FILE, FORMAT_VERSION } from './schemas/fixture-schema.js';
import { validateManifest } from './schemas/validate.js';
import type { FixtureMeta, Manifest, ManifestEntry } from './types.js';

export const MANIFEST_FILE = 'manifest.json';

/**
 * Files the generator may keep in the corpus folder beside the manifest that are
 * not part of the corpus proper (not in the digest): the witness report, whose
 * content depends on the backend builds.
 */
export const CORPUS_AUXILIARY_FILES: readonly string[] = ['witness-report.json'];

/** Something wrong with a corpus on disk; `path` is relative to the corpus folder. */
export interface CorpusProblem {
  path: string;
  problem: string;
}

export interface VerifyCorpusOptions {
  /** Also load every fixture (parse each .npy, check dtypes and shapes). Default false: checksums only. */
  deep?: boolean;
}

function manifestError(message: string, context: Record<string, unknown>): ConformanceError {
  return new ConformanceError('E_MANIFEST', message, context);
}

/**
 * Code-unit order (byte order for ASCII), independent of locale: the one order of
 * the corpus's ids, paths and file names (manifest, digest, archive, runner).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The corpus digest of manifest entries (see the module comment), hashed as it goes:
 * no list of every line, no text of the whole corpus (a large corpus would need
 * tens of MB for them). The order is the same: a fixture folder's name holds no '/',
 * so `<a>/<file>` and `<b>/<file>` compare as `<a>/` and `<b>/` do, whatever the
 * files, and sorting the folders by `<path>/`, then each folder's files, sorts the lines.
 */
export function computeCorpusDigest(entries: readonly ManifestEntry[]): string {
  const folders = entries.map((entry) => ({ prefix: `${entry.path}/`, files: entry.files }));
  folders.sort((a, b) => compareText(a.prefix, b.prefix));
  const hash = createHash('sha256');
  for (const { prefix, files } of folders) {
    let lines = '';
    for (const file of Object.keys(files).sort(compareText)) lines += `${prefix}${file} ${files[file]}\n`;
    hash.update(lines);
  }
  return hash.digest('hex');
}

/** The manifest entry of a fixture, given its metadata and the sha256 of its fixture.json. */
export function manifestEntryFor(meta: FixtureMeta, fixtureJsonSha256: string): ManifestEntry {
  const files: Record<string, string> = { [FIXTURE_META_FILE]: fixtureJsonSha256 };
  for (const file of Object.values(meta.files)) files[file.path] = file.sha256;
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => compareText(a, b)));
  return { id: meta.id, path: meta.id, family: meta.family, dtype: meta.dtype, tags: [...meta.tags], files: sorted };
}

/** Read a fixture folder (fixture.json validated) and return its manifest entry. */
export async function readManifestEntry(fixtureDir: string): Promise<ManifestEntry> {
  const meta = await loadFixtureMeta(fixtureDir);
  const fixtureJson = await readFile(join(fixtureDir, FIXTURE_META_FILE));
  return manifestEntryFor(meta, sha256Hex(fixtureJson));
}

/** A complete manifest: entries sorted by id, count and digest computed, schema-checked. */
export function buildManifest(options: { corpusVersion: string; generator: { name: string; version: string }; entries: readonly ManifestEntry[] }): Manifest {
  const fixtures = [...options.entries].sort((a, b) => compareText(a.id, b.id));
  const manifest: Manifest = {
    corpusVersion: options.corpusVersion,
    formatVersion: FORMAT_VERSION,
    generator: { name: options.generator.name, version: options.generator.version },
    fixtureCount: fixtures.length,
    digest: computeCorpusDigest(fixtures),
    fixtures,
  };
  checkManifest(validateManifest(manifest, MANIFEST_FILE), MANIFEST_FILE);
  return manifest;
}

/** The exact text of manifest.json: 2-space JSON with a trailing newline. */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Write `<corpusDir>/manifest.json` atomically. */
export async function writeManifest(corpusDir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(join(corpusDir, MANIFEST_FILE), serializeManifest(manifest));
}

/** What the schema cannot check: count, unique ids, path = id, and the digest. Throws E_MANIFEST. */
function checkManifest(manifest: Manifest, source: string): void {
  if (manifest.fixtureCount !== manifest.fixtures.length) {
    throw manifestError(`${source}: fixtureCount: expected ${manifest.fixtures.length} (the number of fixtures listed), found ${manifest.fixtureCount}`, { source });
  }
  const seen = new Set<string>();
  manifest.fixtures.forEach((entry, index) => {
    if (seen.has(entry.id)) throw manifestError(`${source}: /fixtures/${index}/id: fixture id ${describeValue(entry.id)} is listed twice`, { source, id: entry.id });
    seen.add(entry.id);
    if (entry.path !== entry.id) {
      throw manifestError(`${source}: /fixtures/${index}/path: expected the fixture id ${describeValue(entry.id)}, found ${describeValue(entry.path)}`, { source, id: entry.id });
    }
  });
  const digest = computeCorpusDigest(manifest.fixtures);
  if (digest !== manifest.digest) {
    throw manifestError(`${source}: digest does not match the listed files: expected ${digest} (computed from the entries), found ${manifest.digest}`, {
      source,
      expected: digest,
      found: manifest.digest,
    });
  }
}

/** Parse and check the text of a manifest.json (E_MANIFEST for JSON and consistency, E_SCHEMA for the schema). */
export function parseManifest(text: Uint8Array | string, source: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch (error) {
    throw manifestError(`${source}: expected JSON, found text that does not parse: ${(error as Error).message}`, { source });
  }
  const manifest = validateManifest(value, source);
  checkManifest(manifest, source);
  return manifest;
}

/** Read `<corpusDir>/manifest.json`: schema-validated, its digest matching its entries. */
export async function loadManifest(corpusDir: string): Promise<Manifest> {
  const source = join(corpusDir, MANIFEST_FILE);
  let text: Buffer;
  try {
    text = await readFile(source);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw manifestError(`${source}: expected the corpus manifest, found ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { source, code });
  }
  return parseManifest(text, source);
}

/**
 * Check a corpus folder against its manifest. Returns every problem found
 * ([] when the corpus is intact): a manifest that does not load, missing
 * files, files whose bytes changed, fixture.json files that are invalid or
 * disagree with their manifest entry, and unexpected files or folders.
 */
export async function verifyCorpus(corpusDir: string, options: VerifyCorpusOptions = {}): Promise<CorpusProblem[]> {
  const problems: CorpusProblem[] = [];
  let manifest: Manifest;
  try {
    manifest = await loadManifest(corpusDir);
  } catch (error) {
    if (!isConformanceError(error)) throw error;
    return [{ path: MANIFEST_FILE, problem: error.message }];
  }

  const listed = new Map(manifest.fixtures.map((entry) => [entry.path, entry]));
  for (const item of await readdir(corpusDir, { withFileTypes: true })) {
    if (item.isFile() && (item.name === MANIFEST_FILE || CORPUS_AUXILIARY_FILES.includes(item.name))) continue;
    if (item.isDirectory() && listed.has(item.name)) continue;
    const kind = item.isDirectory() ? 'folder' : 'file';
    problems.push({ path: item.name, problem: `unexpected ${kind}: expected only ${MANIFEST_FILE} and the fixture folders the manifest lists` });
  }

  for (const entry of manifest.fixtures) {
    const folder = join(corpusDir, entry.path);
    let present: Map<string, boolean>;
    try {
      present = new Map((await readdir(folder, { withFileTypes: true })).map((item) => [item.name, item.isFile()]));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      problems.push({ path: entry.path, problem: `missing fixture folder listed in ${MANIFEST_FILE}` });
      continue;
    }
    for (const [name, isFile] of present) {
      if (!(name in entry.files)) {
        problems.push({ path: `${entry.path}/${name}`, problem: `unexpected ${isFile ? 'file' : 'folder'}: not listed in ${MANIFEST_FILE}` });
      } else if (!isFile) {
        problems.push({ path: `${entry.path}/${name}`, problem: 'expected a file, found a folder' });
      }
    }
    let intact = true;
    for (const [name, sha256] of Object.entries(entry.files)) {
      if (present.get(name) !== true) {
        if (!present.has(name)) problems.push({ path: `${entry.path}/${name}`, problem: `missing file listed in ${MANIFEST_FILE}` });
        intact = false;
        continue;
      }
      const found = sha256Hex(await readFile(join(folder, name)));
      if (found !== sha256) {
        problems.push({ path: `${entry.path}/${name}`, problem: `bytes changed: sha256 expected ${sha256} (${MANIFEST_FILE}), found ${found}` });
        intact = false;
      }
    }

    const metaPath = `${entry.path}/${FIXTURE_META_FILE}`;
    if (present.get(FIXTURE_META_FILE) !== true) continue;
    let meta: FixtureMeta;
    try {
      meta = await loadFixtureMeta(folder);
    } catch (error) {
      if (!isConformanceError(error)) throw error;
      problems.push({ path: metaPath, problem: `invalid fixture.json: ${error.message}` });
      continue;
    }
    problems.push(...entryDisagreements(entry, meta, metaPath));
    if (options.deep && intact) {
      try {
        await loadFixture(folder, { verifyChecksums: false });
      } catch (error) {
        if (!isConformanceError(error)) throw error;
        problems.push({ path: entry.path, problem: `fixture does not load: ${error.message}` });
      }
    }
  }
  return problems;
}

/** Where fixture.json says something other than its manifest entry. */
function entryDisagreements(entry: ManifestEntry, meta: FixtureMeta, metaPath: string): CorpusProblem[] {
  const problems: CorpusProblem[] = [];
  const differ = (field: string, inManifest: unknown, inFixture: unknown): void => {
    problems.push({ path: metaPath, problem: `${field} disagrees with ${MANIFEST_FILE}: manifest has ${describeValue(inManifest)}, fixture.json has ${describeValue(inFixture)}` });
  };
  if (meta.id !== entry.id) differ('id', entry.id, meta.id);
  if (meta.family !== entry.family) differ('family', entry.family, meta.family);
  if (meta.dtype !== entry.dtype) differ('dtype', entry.dtype, meta.dtype);
  if (JSON.stringify(meta.tags) !== JSON.stringify(entry.tags)) differ('tags', entry.tags, meta.tags);
  for (const file of Object.values(meta.files)) {
    if (entry.files[file.path] !== file.sha256) differ(`files sha256 of ${file.path}`, entry.files[file.path], file.sha256);
  }
  return problems;
}
