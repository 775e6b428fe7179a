/**
 * The corpus manifest (fixtures/manifest.json) and whole-corpus verification.
 *
 * digest = sha256 of the concatenation, sorted by `<path>/<file>`, of the lines
 * `<fixture folder>/<file name> <sha256>\n` over every file of every fixture.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { ConformanceError, describeValue, isConformanceError, type ErrorCode } from './errors.js';
import {
  decodeForwardTensorFile,
  decodeTensorFile,
  MAX_FIXTURE_META_BYTES,
  parseFixtureMeta,
  parseForwardMeta,
  readFixtureMeta,
  readForwardMeta,
  readForwardTensorFile,
  readTensorFile,
} from './fixture-io.js';
import { sha256Hex } from './hash.js';
import { describeFileKind, MAX_READ_BYTES, readRegularFileSync } from './regular-file.js';
import { FIXTURE_META_FILE, FIXTURE_TENSOR_NAMES, FORMAT_VERSION, tensorFileName, type FixtureTensorName } from './schemas/fixture-schema.js';
import { FORWARD_META_FILE, FORWARD_TENSOR_NAMES, forwardTensorFileName } from './schemas/forward-schema.js';
import { validateManifest } from './schemas/validate.js';
import type { FixtureMeta, ForwardMeta, Manifest, ManifestEntry } from './types.js';

export const MANIFEST_FILE = 'manifest.json';

/**
 * Files the generator may keep in the corpus folder beside the manifest that are
 * not part of the corpus proper (not in the digest): the witness report, whose
 * content depends on the backend builds.
 */
export const CORPUS_AUXILIARY_FILES: readonly string[] = ['witness-report.json'];

/**
 * Something wrong with a corpus on disk; `path` is relative to the corpus folder.
 * `code` says what kind of problem: E_MISSING_FILE, E_FILE_KIND (a symbolic link, a FIFO,
 * a folder...), E_FILE_SIZE, E_CHECKSUM (bytes changed), E_SCHEMA, E_FIXTURE (fixture.json
 * inconsistent, or a tensor that does not match it), E_NPY, E_MANIFEST (the manifest, or
 * an entry it does not list, or a field that disagrees with it).
 */
export interface CorpusProblem {
  path: string;
  code: ErrorCode;
  problem: string;
}

export interface VerifyCorpusOptions {
  /** Also load every fixture (parse each .npy, check dtypes and shapes). Default false: checksums only. */
  deep?: boolean;
}

/** The largest manifest.json read (the bundled one is about 300 KB). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

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

/**
 * The manifest entry of a fixture, given its metadata and the sha256 of its fixture.json,
 * and when it has one, its forward.json and that file's sha256.
 */
export function manifestEntryFor(meta: FixtureMeta, fixtureJsonSha256: string, forward?: { forward: ForwardMeta; sha256: string }): ManifestEntry {
  const files: Record<string, string> = { [FIXTURE_META_FILE]: fixtureJsonSha256 };
  for (const file of Object.values(meta.files)) files[file.path] = file.sha256;
  if (forward !== undefined) {
    files[FORWARD_META_FILE] = forward.sha256;
    for (const file of Object.values(forward.forward.files)) files[file.path] = file.sha256;
  }
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => compareText(a, b)));
  return { id: meta.id, path: meta.id, family: meta.family, dtype: meta.dtype, tags: [...meta.tags], files: sorted };
}

/** Read a fixture folder (fixture.json and forward.json when present, each read once and validated) and return its manifest entry. */
export async function readManifestEntry(fixtureDir: string): Promise<ManifestEntry> {
  const { meta, sha256 } = readFixtureMeta(fixtureDir);
  return manifestEntryFor(meta, sha256, readForwardMeta(fixtureDir, meta) ?? undefined);
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

/** Read `<corpusDir>/manifest.json`: a regular file, schema-validated, its digest matching its entries. */
export async function loadManifest(corpusDir: string): Promise<Manifest> {
  const source = join(corpusDir, MANIFEST_FILE);
  let text: Uint8Array;
  try {
    text = readRegularFileSync(source, 'the corpus manifest', { max: MAX_MANIFEST_BYTES, why: 'a corpus manifest' });
  } catch (error) {
    if (!isConformanceError(error)) throw error;
    throw new ConformanceError(error.code, error.message, { source, ...error.context });
  }
  return parseManifest(text, source);
}

/** A fixture of a corpus whose fixture.json verified: its manifest entry, folder and metadata (read once). */
export interface VerifiedFixture {
  entry: ManifestEntry;
  /** The fixture's folder (absolute when corpusDir is). */
  folder: string;
  meta: FixtureMeta;
  /** Its forward.json (read once, checked against the manifest and fixture.json); null when the fixture has none. */
  forward: ForwardMeta | null;
}

/** What checkCorpus found. */
export interface CorpusCheck {
  /** null when the manifest itself does not load (then `problems` says why). */
  manifest: Manifest | null;
  /** The fixtures whose fixture.json verified, in manifest order. */
  fixtures: VerifiedFixture[];
  /** Every problem found, in the order found; [] when the corpus is intact. */
  problems: CorpusProblem[];
}

export interface CheckCorpusOptions {
  /**
   * What is done with the tensor files:
   * 'later' (the runner): only listed and kind-checked here; each is read, size-checked and hashed when its fixture is loaded;
   * 'checksums': each read once and hashed;
   * 'decode': each read once, hashed and decoded (dtype and shape against fixture.json).
   */
  tensors: 'later' | 'checksums' | 'decode';
}

/** A ConformanceError as a problem of `path`, its message without the absolute path it starts with. */
function problemOf(path: string, absolute: string, error: ConformanceError): CorpusProblem {
  const prefix = `${absolute}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  if (error.code === 'E_MISSING_FILE' && error.context.errno === 'ENOENT') return { path, code: error.code, problem: `missing file listed in ${MANIFEST_FILE}` };
  return { path, code: error.code, problem: message };
}

/** Run `step`; a ConformanceError becomes a problem of `path` (anything else is a bug and propagates). */
function attempt<T>(problems: CorpusProblem[], path: string, absolute: string, step: () => T): T | undefined {
  try {
    return step();
  } catch (error) {
    if (!isConformanceError(error)) throw error;
    problems.push(problemOf(path, absolute, error));
    return undefined;
  }
}

/** A fixture file read whole, when its size is not known from fixture.json or forward.json. */
function readListedFile(absolute: string): Uint8Array {
  return readRegularFileSync(absolute, 'a fixture file', { max: MAX_READ_BYTES, why: 'the largest file read' });
}

/**
 * Read each of `names` that the entry lists and the folder holds as a regular file, once,
 * with `read`, and compare its sha256 with the manifest's. Returns the bytes of those that
 * match, and whether every one read and matched (the problems are pushed).
 */
function readListedFiles<Name extends string>(
  problems: CorpusProblem[],
  entry: ManifestEntry,
  folder: string,
  present: ReadonlyMap<string, string>,
  names: readonly Name[],
  fileNameOf: (name: Name) => string,
  read: (name: Name, absolute: string) => Uint8Array,
): { bytes: Map<Name, Uint8Array>; intact: boolean } {
  const bytes = new Map<Name, Uint8Array>();
  let intact = true;
  for (const name of names) {
    const fileName = fileNameOf(name);
    if (present.get(fileName) !== 'a regular file' || !(fileName in entry.files)) continue;
    const path = `${entry.path}/${fileName}`;
    const absolute = join(folder, fileName);
    const fileBytes = attempt(problems, path, absolute, () => read(name, absolute));
    if (fileBytes === undefined) {
      intact = false;
      continue;
    }
    const found = sha256Hex(fileBytes);
    if (found !== entry.files[fileName]) {
      problems.push({ path, code: 'E_CHECKSUM', problem: `bytes changed: sha256 expected ${entry.files[fileName]} (${MANIFEST_FILE}), found ${found}` });
      intact = false;
      continue;
    }
    bytes.set(name, fileBytes);
  }
  return { bytes, intact };
}

/**
 * The one corpus verifier, for the runner, `conv2d-fixtures verify`, fetch and pack.
 * Checks, listing every problem (one never stops the others):
 * - the manifest (a regular file; schema; count, ids, digest);
 * - the corpus folder and each fixture folder hold only what the manifest lists, each
 *   entry a regular file ("a symbolic link", "a FIFO", "a folder" otherwise);
 * - each fixture.json: read once, a regular file of plausible size, its sha256 the
 *   manifest's, schema (E_SCHEMA), consistency (E_FIXTURE), and its id, family, dtype,
 *   tags and file checksums those of its manifest entry;
 * - each forward.json the entry lists (corpus 1.2.0): read once, its sha256 the manifest's,
 *   schema (E_SCHEMA), consistency with fixture.json (E_FIXTURE), its file checksums the
 *   manifest's; a fixture is verified only when its forward.json (if listed) is too;
 * - the tensor files as `options.tensors` says, each read at most once.
 */
export async function checkCorpus(corpusDir: string, options: CheckCorpusOptions): Promise<CorpusCheck> {
  const problems: CorpusProblem[] = [];
  const fixtures: VerifiedFixture[] = [];
  let manifest: Manifest;
  try {
    manifest = await loadManifest(corpusDir);
  } catch (error) {
    if (!isConformanceError(error)) throw error;
    return { manifest: null, fixtures, problems: [{ path: MANIFEST_FILE, code: error.code, problem: error.message }] };
  }

  const listed = new Map(manifest.fixtures.map((entry) => [entry.path, entry]));
  // Synchronous, like the file reads below: one listing per fixture folder is cheaper than a thread-pool round trip each
  // (the runner verifies the corpus while the adapter starts, and the first fixture waits for both).
  for (const item of readdirSync(corpusDir, { withFileTypes: true })) {
    if (item.isFile() && (item.name === MANIFEST_FILE || CORPUS_AUXILIARY_FILES.includes(item.name))) continue;
    if (item.isDirectory() && listed.has(item.name)) continue;
    if (listed.has(item.name)) {
      problems.push({ path: item.name, code: 'E_FILE_KIND', problem: `expected a fixture folder, found ${describeFileKind(item)}` });
      continue;
    }
    const kind = item.isDirectory() ? 'folder' : item.isFile() ? 'file' : 'entry';
    problems.push({
      path: item.name,
      code: 'E_MANIFEST',
      problem: `unexpected ${kind}${kind === 'entry' ? ` (${describeFileKind(item)})` : ''}: expected only ${MANIFEST_FILE} and the fixture folders the manifest lists`,
    });
  }

  for (const entry of manifest.fixtures) {
    const folder = join(corpusDir, entry.path);
    if (!listed.has(entry.path)) continue;
    let present: Map<string, string>;
    try {
      present = new Map(readdirSync(folder, { withFileTypes: true }).map((item) => [item.name, describeFileKind(item)]));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      // ENOTDIR: not a folder, already reported above.
      if (code === 'ENOENT') problems.push({ path: entry.path, code: 'E_MISSING_FILE', problem: `missing fixture folder listed in ${MANIFEST_FILE}` });
      continue;
    }
    let intact = true;
    for (const [name, kind] of present) {
      if (!(name in entry.files)) {
        problems.push({ path: `${entry.path}/${name}`, code: 'E_MANIFEST', problem: `unexpected ${kind === 'a folder' ? 'folder' : 'file'}: not listed in ${MANIFEST_FILE}` });
      }
    }
    for (const name of Object.keys(entry.files)) {
      const kind = present.get(name);
      if (kind === undefined) {
        problems.push({ path: `${entry.path}/${name}`, code: 'E_MISSING_FILE', problem: `missing file listed in ${MANIFEST_FILE}` });
        intact = false;
      } else if (kind !== 'a regular file') {
        problems.push({ path: `${entry.path}/${name}`, code: 'E_FILE_KIND', problem: `expected a regular file, found ${kind}` });
        intact = false;
      }
    }

    const metaPath = `${entry.path}/${FIXTURE_META_FILE}`;
    let meta: FixtureMeta | undefined;
    let verified: FixtureMeta | undefined;
    if (present.get(FIXTURE_META_FILE) === 'a regular file') {
      const metaSource = join(folder, FIXTURE_META_FILE);
      const metaBytes = attempt(problems, metaPath, metaSource, () =>
        readRegularFileSync(metaSource, 'a fixture file', { max: MAX_FIXTURE_META_BYTES, why: 'a fixture.json is a few KB' }),
      );
      if (metaBytes !== undefined) {
        const metaSha256 = sha256Hex(metaBytes);
        const sameBytes = metaSha256 === entry.files[FIXTURE_META_FILE];
        if (!sameBytes) {
          problems.push({ path: metaPath, code: 'E_CHECKSUM', problem: `bytes changed: sha256 expected ${entry.files[FIXTURE_META_FILE]} (${MANIFEST_FILE}), found ${metaSha256}` });
        }
        meta = attempt(problems, metaPath, metaSource, () => parseFixtureMeta(metaBytes, metaSource));
        if (meta !== undefined) {
          const disagreements = entryDisagreements(entry, meta, metaPath);
          problems.push(...disagreements);
          if (sameBytes && disagreements.length === 0) verified = meta;
          else intact = false;
        }
      }
    }
    // forward.json (corpus 1.2.0 and later): listed with y.npy and y-magnitude.npy (the schema requires the three together).
    let forward: ForwardMeta | null = null;
    let forwardIntact = true;
    if (FORWARD_META_FILE in entry.files && present.get(FORWARD_META_FILE) === 'a regular file' && meta !== undefined) {
      const forwardPath = `${entry.path}/${FORWARD_META_FILE}`;
      const forwardSource = join(folder, FORWARD_META_FILE);
      const forwardBytes = attempt(problems, forwardPath, forwardSource, () =>
        readRegularFileSync(forwardSource, 'a fixture file', { max: MAX_FIXTURE_META_BYTES, why: 'a forward.json is under 2 KB' }),
      );
      const fixtureMeta = meta;
      const parsed = forwardBytes === undefined ? undefined : attempt(problems, forwardPath, forwardSource, () => parseForwardMeta(forwardBytes, forwardSource, fixtureMeta));
      if (forwardBytes !== undefined) {
        const found = sha256Hex(forwardBytes);
        if (found !== entry.files[FORWARD_META_FILE]) {
          problems.push({ path: forwardPath, code: 'E_CHECKSUM', problem: `bytes changed: sha256 expected ${entry.files[FORWARD_META_FILE]} (${MANIFEST_FILE}), found ${found}` });
          forwardIntact = false;
        }
      }
      if (parsed !== undefined) {
        for (const file of Object.values(parsed.files)) {
          if (entry.files[file.path] !== file.sha256) {
            problems.push({
              path: forwardPath,
              code: 'E_MANIFEST',
              problem: `files sha256 of ${file.path} disagrees with ${MANIFEST_FILE}: manifest has ${describeValue(entry.files[file.path])}, ${FORWARD_META_FILE} has ${describeValue(file.sha256)}`,
            });
            forwardIntact = false;
          }
        }
        if (forwardIntact) forward = parsed;
      } else {
        forwardIntact = false;
      }
    }
    const forwardListed = FORWARD_META_FILE in entry.files;
    if (verified !== undefined && (!forwardListed || forward !== null)) fixtures.push({ entry, folder, meta: verified, forward });
    if (forwardListed && !forwardIntact) intact = false;
    if (options.tensors === 'later') continue;

    // Each tensor file, y.npy and y-magnitude.npy: read once (its size from fixture.json or
    // forward.json when that parsed), hashed against the manifest.
    const fixtureMeta = meta;
    const tensors = readListedFiles(problems, entry, folder, present, FIXTURE_TENSOR_NAMES, tensorFileName, (name, absolute) =>
      fixtureMeta !== undefined ? readTensorFile(folder, fixtureMeta, name, false) : readListedFile(absolute),
    );
    const listedForward = forward;
    const forwardTensors = readListedFiles(problems, entry, folder, present, FORWARD_TENSOR_NAMES, forwardTensorFileName, (name, absolute) =>
      listedForward !== null ? readForwardTensorFile(folder, listedForward, name, false) : readListedFile(absolute),
    );
    if (!tensors.intact || !forwardTensors.intact) intact = false;
    const tensorBytes = tensors.bytes;
    const forwardBytes = forwardTensors.bytes;
    if (options.tensors === 'decode' && intact && meta !== undefined) {
      const verifiedMeta = meta;
      for (const [name, bytes] of tensorBytes) {
        const absolute = join(folder, tensorFileName(name));
        attempt(problems, `${entry.path}/${tensorFileName(name)}`, absolute, () => decodeTensorFile(folder, verifiedMeta, name, bytes));
      }
      const verifiedForward = forward;
      if (verifiedForward !== null) {
        for (const [name, bytes] of forwardBytes) {
          const absolute = join(folder, forwardTensorFileName(name));
          attempt(problems, `${entry.path}/${forwardTensorFileName(name)}`, absolute, () => decodeForwardTensorFile(folder, verifiedForward, name, bytes));
        }
      }
    }
  }
  return { manifest, fixtures, problems };
}

/**
 * Check a corpus folder against its manifest (checkCorpus, every tensor file read
 * once: hashed, and decoded when `deep`). Returns every problem found ([] when intact).
 */
export async function verifyCorpus(corpusDir: string, options: VerifyCorpusOptions = {}): Promise<CorpusProblem[]> {
  return (await checkCorpus(corpusDir, { tensors: options.deep === true ? 'decode' : 'checksums' })).problems;
}

/** Where fixture.json says something other than its manifest entry. */
function entryDisagreements(entry: ManifestEntry, meta: FixtureMeta, metaPath: string): CorpusProblem[] {
  const problems: CorpusProblem[] = [];
  const differ = (field: string, inManifest: unknown, inFixture: unknown): void => {
    problems.push({
      path: metaPath,
      code: 'E_MANIFEST',
      problem: `${field} disagrees with ${MANIFEST_FILE}: manifest has ${describeValue(inManifest)}, fixture.json has ${describeValue(inFixture)}`,
    });
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
