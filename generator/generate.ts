/**
 * Generate the corpus: plan, build and witness every fixture, write them into a
 * temporary folder beside the target, and only then swap it in. What was written
 * is kept (metadata, sha256 of each file, sizes) and makes the manifest: nothing is
 * read back, re-validated or re-hashed (writeFixtureFolder validates before it writes).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { replaceDirectoryAtomically, statIfExists, writeFileAtomic } from '../src/atomic-write.js';
import { checkReplaceableDestination } from '../src/corpus-destination.js';
import { ConformanceError } from '../src/errors.js';
import { writeFixtureFolder, writeForwardFiles } from '../src/fixture-io.js';
import { buildManifest, CORPUS_AUXILIARY_FILES, loadManifest, MANIFEST_FILE, manifestEntryFor, serializeManifest, writeManifest } from '../src/manifest.js';
import type { DataFamily, Manifest, ManifestEntry } from '../src/types.js';
import { buildFixture, WITNESS_BACKENDS, witnessBackend, type FixtureTimings, type WitnessRecord } from './build-fixture.js';
import { recordBundledCorpusPin } from './corpus-pin-writer.js';
import { CORPUS_VERSION, GENERATOR_NAME, GENERATOR_VERSION } from './corpus-version.js';
import { planCorpus, type FixturePlan, type PlanOptions } from './fixture-plan.js';
import type { Backend } from '../backends/backend.js';

/** Witness records vary with the backend build, so they live beside the manifest, outside the digest. */
export const WITNESS_REPORT_FILE = CORPUS_AUXILIARY_FILES[0];

/**
 * Where generation time goes, in seconds (performance.now()). Kept in memory only:
 * nothing of it is written into the corpus or the witness report.
 */
export interface GenerateTimings extends FixtureTimings {
  /** Encoding and writing the fixture folders. */
  writingSeconds: number;
  /** Writing the manifest and the witness report. */
  finishingSeconds: number;
}

export function emptyGenerateTimings(): GenerateTimings {
  return { oracleSeconds: 0, witnessSeconds: {}, agreementSeconds: 0, writingSeconds: 0, finishingSeconds: 0 };
}

export interface GenerateOptions extends PlanOptions {
  outDir: string;
  witnesses: readonly Backend[];
  /** Allow a corpus whose content differs from the one in outDir under the same corpusVersion. */
  allowVersionReuse?: boolean;
  onFixture?: (plan: FixturePlan, done: number, total: number) => void;
  /** Stops the generation before the next fixture (its reason is thrown); the temporary folder is removed, the destination left as it was. */
  signal?: AbortSignal;
  /** Timings are added into this object as generation goes (also when it fails); the summary returns the same object. */
  timings?: GenerateTimings;
}

export interface CorpusChanges {
  previousVersion: string | null;
  added: string[];
  removed: string[];
  changed: string[];
}

export interface GenerateSummary {
  outDir: string;
  corpusVersion: string;
  digest: string;
  fixtures: number;
  perFamily: Partial<Record<DataFamily, number>>;
  totalBytes: number;
  seconds: number;
  timings: GenerateTimings;
  changes: CorpusChanges;
}

async function previousManifest(outDir: string): Promise<Manifest | null> {
  if ((await statIfExists(join(outDir, MANIFEST_FILE))) === undefined) return null;
  return loadManifest(outDir);
}

/** What differs between the previous corpus and the new manifest: ids added, removed, or with other bytes. */
export function corpusChanges(previous: Manifest | null, next: Manifest): CorpusChanges {
  const before = new Map((previous?.fixtures ?? []).map((entry) => [entry.id, entry]));
  const after = new Map(next.fixtures.map((entry) => [entry.id, entry]));
  const added = [...after.keys()].filter((id) => !before.has(id));
  const removed = [...before.keys()].filter((id) => !after.has(id));
  const changed = [...after.keys()].filter((id) => {
    const old = before.get(id);
    return old !== undefined && JSON.stringify(old.files) !== JSON.stringify(after.get(id)?.files);
  });
  return { previousVersion: previous?.corpusVersion ?? null, added, removed, changed };
}

export async function generateCorpus(options: GenerateOptions): Promise<GenerateSummary> {
  const start = performance.now();
  const backends = new Set(options.witnesses.map((witness) => witnessBackend(witness.name)));
  const missing = WITNESS_BACKENDS.filter((backend) => !backends.has(backend));
  if (missing.length > 0) {
    throw new ConformanceError('E_GENERATOR', `generate: every fixture must be witnessed by both backends; missing: ${missing.join(', ')}`, { missing });
  }
  const plans = planCorpus(options);
  if (plans.length === 0) throw new ConformanceError('E_USAGE', 'generate: the selection produced no fixtures', {});
  // Only nothing, an empty folder or a corpus is replaced (the rule fetch follows too).
  await checkReplaceableDestination(options.outDir);
  const previous = await previousManifest(options.outDir);

  const timings = options.timings ?? emptyGenerateTimings();
  const perFamily: Partial<Record<DataFamily, number>> = {};
  let totalBytes = 0;
  let manifest: Manifest | undefined;
  let changes: CorpusChanges | undefined;

  await replaceDirectoryAtomically(options.outDir, async (temporaryDir) => {
    const entries: ManifestEntry[] = [];
    const witnessReport: Record<string, WitnessRecord[]> = {};
    for (const [index, plan] of plans.entries()) {
      // Between fixtures nothing is being written, so the temporary folder can be removed whole.
      options.signal?.throwIfAborted();
      const built = await buildFixture(plan, options.witnesses, timings);
      const writeStart = performance.now();
      const folder = join(temporaryDir, plan.id);
      const written = await writeFixtureFolder(folder, built.meta, built.tensors);
      const writtenForward = await writeForwardFiles(folder, written.meta, built.forward, built.forwardWitnesses);
      entries.push(manifestEntryFor(written.meta, written.metaSha256, writtenForward));
      totalBytes += written.bytes + writtenForward.bytes;
      timings.writingSeconds += (performance.now() - writeStart) / 1000;
      witnessReport[plan.id] = built.witnessRecords;
      perFamily[plan.family] = (perFamily[plan.family] ?? 0) + 1;
      options.onFixture?.(plan, index + 1, plans.length);
    }
    const finishStart = performance.now();
    manifest = buildManifest({ corpusVersion: CORPUS_VERSION, generator: { name: GENERATOR_NAME, version: GENERATOR_VERSION }, entries });
    changes = corpusChanges(previous, manifest);
    const contentChanged = changes.added.length + changes.removed.length + changes.changed.length > 0;
    if (previous && previous.corpusVersion === CORPUS_VERSION && contentChanged && !options.allowVersionReuse) {
      throw new ConformanceError(
        'E_GENERATOR',
        `generate: the corpus content changed (${changes.added.length} added, ${changes.removed.length} removed, ${changes.changed.length} changed, ` +
          `e.g. ${[...changes.changed, ...changes.added, ...changes.removed].slice(0, 3).join(', ')}) but corpusVersion is still ${CORPUS_VERSION}: ` +
          'bump CORPUS_VERSION in generator/corpus-version.ts and say why in CHANGELOG.md (or pass --allow-version-reuse for a scratch folder)',
        { changes },
      );
    }
    await writeManifest(temporaryDir, manifest);
    totalBytes += Buffer.byteLength(serializeManifest(manifest));
    const report = {
      corpusVersion: CORPUS_VERSION,
      note: 'Per fixture and witness: the backend that recomputed the gradients (and y, under "y"), the precision it computed in, and its largest error in units of the bound. Not part of the corpus digest.',
      witnesses: options.witnesses.map((witness) => ({ name: witness.name, version: witness.version })),
      fixtures: witnessReport,
    };
    await writeFileAtomic(join(temporaryDir, WITNESS_REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
    timings.finishingSeconds += (performance.now() - finishStart) / 1000;
  });

  if (!manifest || !changes) throw new ConformanceError('E_GENERATOR', 'generate: no manifest was produced', {});
  // The bundled corpus's digest goes into the package (src/corpus-pin.ts), outside the corpus folder.
  await recordBundledCorpusPin(options.outDir, manifest);
  return {
    outDir: options.outDir,
    corpusVersion: manifest.corpusVersion,
    digest: manifest.digest,
    fixtures: manifest.fixtureCount,
    perFamily,
    totalBytes,
    seconds: (performance.now() - start) / 1000,
    timings,
    changes,
  };
}
