/**
 * --save-failures DIR: each minimal failure becomes a fixture folder of a corpus in
 * DIR, in the corpus format (nine .npy files and fixture.json, written by
 * writeFixtureFolder), listed in DIR/manifest.json, so that
 * `conformance-runner --fixtures DIR` replays them and a user can keep them as
 * regression tests. A folder appears whole (written beside DIR's fixtures, then
 * renamed into place); the manifest is rewritten atomically after each folder.
 * DIR may not exist yet, be empty, or be such a corpus already (its fixtures are kept).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConformanceError } from '../../src/errors.js';
import { writeFixtureFolder } from '../../src/fixture-io.js';
import { buildManifest, loadManifest, MANIFEST_FILE, manifestEntryFor, writeManifest } from '../../src/manifest.js';
import type { ManifestEntry } from '../../src/types.js';
import { toolVersion } from '../reports/json.js';
import type { BuiltCase } from './fuzz-case.js';

/** The corpusVersion of a folder of saved failures (a pre-release: never a published corpus). */
export const SAVED_FAILURES_VERSION = '0.0.0-fuzz';

/** Refuse a DIR that is a file, or a non-empty folder that is not a corpus, before anything runs. */
export function checkSaveFailuresDir(dir: string): void {
  const path = resolve(dir);
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) throw new ConformanceError('E_USAGE', `--save-failures: expected a folder (new, empty, or a corpus of saved failures), found a file at ${path}`, { dir: path });
  const entries = readdirSync(path);
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw new ConformanceError('E_USAGE', `--save-failures: expected a new or empty folder or a corpus (with ${MANIFEST_FILE}), found ${entries.length} other entries in ${path}`, { dir: path });
  }
}

/** Write one failure into DIR as a fixture folder and list it in DIR's manifest; returns the folder. */
export async function saveFailure(dir: string, built: BuiltCase): Promise<string> {
  const corpusDir = resolve(dir);
  await mkdir(corpusDir, { recursive: true });
  const { meta, tensors } = built;
  const staging = await mkdtemp(join(corpusDir, `.${meta.id}.tmp-`));
  const target = join(corpusDir, meta.id);
  let entry: ManifestEntry;
  try {
    const written = await writeFixtureFolder(join(staging, meta.id), meta, tensors);
    entry = manifestEntryFor(written.meta, written.metaSha256);
    await rm(target, { recursive: true, force: true });
    await rename(join(staging, meta.id), target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const previous = existsSync(join(corpusDir, MANIFEST_FILE)) ? (await loadManifest(corpusDir)).fixtures.filter((other) => other.id !== meta.id) : [];
  const manifest = buildManifest({ corpusVersion: SAVED_FAILURES_VERSION, generator: { name: 'conformance-runner --save-failures', version: toolVersion() }, entries: [...previous, entry] });
  await writeManifest(corpusDir, manifest);
  return target;
}
