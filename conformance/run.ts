/**
 * The conformance runner as a library: select fixtures, run an adapter on each
 * (in a child process, a `cmd:` program, or `replay:` files), score, and return
 * every outcome. The CLI (cli.ts) is a thin layer over runConformance.
 *
 *   const result = await runConformance({ impl: './adapter.js', filter: 'dtype=float32' });
 *   process.exitCode = exitCodeFor(result);
 *
 * Usage, adapter-load and corpus problems throw ConformanceError (E_USAGE,
 * E_ADAPTER_LOAD, E_SCHEMA, E_CHECKSUM, E_MANIFEST, E_FIXTURE, E_NPY); adapter
 * misbehaviour on a fixture is an `error` or `timeout` outcome, never a throw.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConformanceError, describeValue, isConformanceError } from '../src/errors.js';
import {
  checkSha256,
  FIXTURE_META_FILE,
  FIXTURE_TENSOR_NAMES,
  parseFixtureMeta,
  readFixtureFileSync,
  TENSOR_SHA256_MISMATCH,
  type FixtureTensorName,
  type LoadedFixture,
} from '../src/fixture-io.js';
import { readNpy } from '../src/npy.js';
import { sha256Hex } from '../src/hash.js';
import { loadManifest, MANIFEST_FILE, type CorpusProblem } from '../src/manifest.js';
import { bundledCorpusDir } from '../src/paths.js';
import {
  OUTPUT_NAMES,
  type AdapterCapabilities,
  type FixtureMeta,
  type Float64Tensor,
  type InputName,
  type OutputName,
  type Outcome,
  type OutcomeStatus,
  type Tensor,
} from '../src/types.js';
import { matchesFilter, parseFilter, type FilterTerm } from './filter.js';
import type { AdapterHost, HostOutput, HostRequest, HostResponse } from './host/adapter-host.js';
import { unsupportedReason } from './host/capabilities.js';
import { CommandHost } from './host/command-host.js';
import { ModuleHost } from './host/module-host.js';
import { ReplayHost } from './host/replay-host.js';
import type { ExpectedOutputs } from './host/result-check.js';
import { adapterShape, fromAdapterLayout, layoutLabel, toAdapterLayout, type AdapterLayouts } from './layout.js';
import { outcomeBase, scoreFixture } from './score.js';
import { checkShard, compareIds, selectShard, type Shard } from './shard.js';

export const DEFAULT_TIMEOUT_MS = 60000;
/** Adapter start-up (import and init(), or a cmd: program's handshake): generous, so a loaded machine cannot fail a healthy adapter. */
export const DEFAULT_LOAD_TIMEOUT_MS = 300000;

export interface RunOptions {
  /** './adapter.js' (ESM or CJS module path) | 'cmd:python3 my_adapter.py' | 'replay:DIR' */
  impl: string;
  /** Default: bundledCorpusDir() (<package root>/fixtures). */
  fixturesDir?: string;
  /** Filter expression (see conformance/filter.ts and the README), e.g. 'family=exact,tag=groups'. */
  filter?: string;
  /** Fixture ids. */
  only?: string[];
  /** 1-based index. */
  shard?: Shard;
  /** Per fixture; default 60000. */
  timeoutMs?: number;
  /** Adapter start-up limit (each process started, restarts included); default 300000. */
  loadTimeoutMs?: number;
  /** Parallel adapter hosts; default 1. */
  jobs?: number;
  /** Forward the adapter's stdout/stderr to `adapterOutput` (default: discarded). */
  verbose?: boolean;
  /** Where forwarded adapter output goes; default process.stderr. */
  adapterOutput?: NodeJS.WritableStream;
  onOutcome?: (outcome: Outcome, progress: { done: number; total: number }) => void;
  /** Called once the adapter is loaded and the fixtures are selected, before the first fixture runs. */
  onStart?: (info: { capabilities: AdapterCapabilities; total: number }) => void;
}

export interface RunResult {
  /** The --impl value as given. */
  impl: string;
  capabilities: AdapterCapabilities;
  corpus: { dir: string; bundled: boolean; corpusVersion: string; digest: string; fixtureCount: number };
  /** notSelected: the corpus's fixtures that --only, --filter and --shard left out (fixtureCount - selected). */
  selection: { filter: string | null; only: string[] | null; shard: Shard | null; selected: number; notSelected: number };
  timeoutMs: number;
  loadTimeoutMs: number;
  jobs: number;
  /** Sorted by fixture id. */
  outcomes: Outcome[];
  counts: Record<OutcomeStatus, number>;
  /** Wall time of the run (corpus verification, adapter start-up and every fixture). */
  seconds: number;
  /** Time spent inside the adapter's conv2dBackward, measured in the adapter's process. */
  adapterSeconds: number;
  /** Wall time of the first adapter start-up (import and init(), or up to a cmd: program's handshake): not runner overhead. */
  startupSeconds: number;
}

export const OUTCOME_STATUSES: readonly OutcomeStatus[] = ['pass', 'fail', 'error', 'timeout', 'missing', 'skipped'];

/** 0 only if at least one fixture passed and none failed, errored, timed out or is missing. */
export function exitCodeFor(result: Pick<RunResult, 'counts'>): 0 | 1 {
  const { counts } = result;
  if (counts.pass === 0) return 1;
  return counts.fail + counts.error + counts.timeout + counts.missing === 0 ? 0 : 1;
}

export function emptyCounts(): Record<OutcomeStatus, number> {
  return { pass: 0, fail: 0, error: 0, timeout: 0, missing: 0, skipped: 0 };
}

function usage(message: string, context: Record<string, unknown> = {}): ConformanceError {
  return new ConformanceError('E_USAGE', message, context);
}

function checkPositiveInteger(value: unknown, option: string, meaning: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw usage(`${option}: expected a positive integer (${meaning}), found ${describeValue(value)}`, { option, value });
  }
  return value;
}

export type ImplSpec = { kind: 'module'; path: string } | { kind: 'command'; command: string } | { kind: 'replay'; dir: string };

/** Parse --impl: `cmd:COMMAND`, `replay:DIR`, or a module path (relative to the working directory). */
export function parseImpl(impl: string): ImplSpec {
  if (typeof impl !== 'string' || impl.trim() === '') {
    throw usage(`--impl: expected a module path, cmd:COMMAND or replay:DIR, found ${describeValue(impl)}`);
  }
  if (impl.startsWith('cmd:')) {
    const command = impl.slice('cmd:'.length).trim();
    if (command === '') throw usage(`--impl cmd:COMMAND: expected a command after 'cmd:', found nothing`);
    return { kind: 'command', command };
  }
  if (impl.startsWith('replay:')) {
    const dir = impl.slice('replay:'.length).trim();
    if (dir === '') throw usage(`--impl replay:DIR: expected a folder after 'replay:', found nothing`);
    return { kind: 'replay', dir: resolve(dir) };
  }
  return { kind: 'module', path: resolve(impl) };
}

function createHost(spec: ImplSpec, impl: string, output: HostOutput, loadTimeoutMs: number): AdapterHost {
  if (spec.kind === 'module') return new ModuleHost(spec.path, impl, output, loadTimeoutMs);
  if (spec.kind === 'command') return new CommandHost(spec.command, output, loadTimeoutMs);
  return new ReplayHost(spec.dir);
}

/** What selection reads of a fixture's metadata (--only, --filter, --shard). */
export type SelectionSubject = Pick<FixtureMeta, 'id' | 'case' | 'family' | 'dtype' | 'tags'>;

interface SelectionOptions {
  only?: readonly string[];
  terms?: readonly FilterTerm[];
  filter?: string;
  shard?: Shard;
}

/**
 * Apply --only, then --filter, then --shard to the corpus's fixtures; returns the
 * selected metas sorted by id. Throws E_USAGE for an --only id not in the corpus
 * and for any step that leaves nothing selected.
 */
export function selectFixtures<T extends SelectionSubject>(metas: readonly T[], options: SelectionOptions, corpusDir: string): T[] {
  let selected = [...metas].sort((a, b) => compareIds(a.id, b.id));
  const total = selected.length;
  if (total === 0) throw usage(`the corpus at ${corpusDir} has no fixtures`);
  if (options.only !== undefined && options.only.length > 0) {
    const byId = new Set(selected.map((meta) => meta.id));
    const unknown = options.only.filter((id) => !byId.has(id));
    if (unknown.length > 0) {
      const hints = unknown.map((id) => {
        const similar = selected.filter((meta) => meta.id.includes(id) || id.includes(meta.id)).slice(0, 3);
        return similar.length > 0 ? `'${id}' (did you mean ${similar.map((meta) => meta.id).join(', ')}?)` : `'${id}'`;
      });
      throw usage(`--only: no fixture with id ${hints.join(', ')} in the corpus at ${corpusDir} (${total} fixtures)`, { unknown });
    }
    const wanted = new Set(options.only);
    selected = selected.filter((meta) => wanted.has(meta.id));
  }
  const terms = options.terms ?? [];
  if (terms.length > 0) {
    const before = selected.length;
    selected = selected.filter((meta) => matchesFilter(terms, meta));
    if (selected.length === 0) {
      const tagTerm = terms.some((term) => term.key === 'tag');
      const tags = tagTerm ? [...new Set(metas.flatMap((meta) => meta.tags))].sort(compareIds) : [];
      const tagHint = tagTerm ? `; tags in this corpus: ${tags.join(', ')}` : '';
      throw usage(`--filter '${options.filter ?? terms.map((term) => term.text).join(',')}' selects none of the ${before} fixtures${tagHint}`, {
        filter: options.filter,
      });
    }
  }
  if (options.shard !== undefined) {
    const before = selected.length;
    const ids = new Set(selectShard(selected.map((meta) => meta.id), options.shard));
    selected = selected.filter((meta) => ids.has(meta.id));
    if (selected.length === 0) {
      throw usage(`--shard ${options.shard.index}/${options.shard.count} selects no fixture: only ${before} fixture${before === 1 ? ' is' : 's are'} selected before sharding`, {
        shard: options.shard,
      });
    }
  }
  return selected;
}

/**
 * A verified fixture as the run keeps it until its turn: what selection and the
 * static support decision need, and the sha256 of its fixture.json. The full
 * metadata is read again (same bytes, checked against that sha256) when the
 * fixture is loaded, so that memory does not hold every fixture.json of a large corpus.
 */
export interface CorpusFixture extends SelectionSubject, Pick<FixtureMeta, 'params'> {
  /** The fixture's folder. */
  folder: string;
  metaSha256: string;
}

interface OpenedCorpus {
  dir: string;
  bundled: boolean;
  corpusVersion: string;
  digest: string;
  fixtures: CorpusFixture[];
}

/**
 * Open a corpus and verify its metadata before anything runs: the manifest
 * (schema, and its digest over every file's sha256), then each fixture.json
 * (sha256 against the manifest, schema, consistency, id = folder) and the file
 * checksums it lists against the manifest's. The tensor files themselves are
 * checked against those sha256 as each fixture is loaded (their bytes are read
 * once), so a damaged tensor file stops the run with E_CHECKSUM when reached.
 */
async function openCorpus(fixturesDir: string | undefined): Promise<OpenedCorpus> {
  const bundled = fixturesDir === undefined;
  const dir = bundled ? bundledCorpusDir() : resolve(fixturesDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const advice = bundled ? ' (the bundled corpus is missing: run `npm run generate-fixtures`, or pass --fixtures DIR)' : '';
    throw usage(`--fixtures: no corpus folder at ${dir}${advice}`, { dir });
  }
  if (!existsSync(join(dir, MANIFEST_FILE))) {
    throw usage(`--fixtures: ${dir} is not a corpus: expected ${MANIFEST_FILE} in it, found none`, { dir });
  }
  const manifest = await loadManifest(dir);
  const problems: CorpusProblem[] = [];
  // Read synchronously: many small files, read while the adapter's process starts (in parallel,
  // in that process), and a thread-pool round trip per file costs more than the read itself.
  const loaded = manifest.fixtures.map((entry): CorpusFixture | null => {
    const metaPath = `${entry.path}/${FIXTURE_META_FILE}`;
    const source = join(dir, metaPath);
    let bytes: Buffer;
    try {
      bytes = readFileSync(source);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({ path: metaPath, problem: code === 'ENOENT' ? `missing file listed in ${MANIFEST_FILE}` : (error as Error).message });
      return null;
    }
    const found = sha256Hex(bytes);
    if (found !== entry.files[FIXTURE_META_FILE]) {
      problems.push({ path: metaPath, problem: `bytes changed: sha256 expected ${entry.files[FIXTURE_META_FILE]} (${MANIFEST_FILE}), found ${found}` });
      return null;
    }
    let meta: FixtureMeta;
    try {
      meta = parseFixtureMeta(bytes, source);
    } catch (error) {
      if (!isConformanceError(error)) throw error;
      problems.push({ path: metaPath, problem: error.message });
      return null;
    }
    if (meta.id !== entry.id) problems.push({ path: metaPath, problem: `id: expected ${describeValue(entry.id)} (${MANIFEST_FILE}), found ${describeValue(meta.id)}` });
    for (const file of Object.values(meta.files)) {
      if (entry.files[file.path] !== file.sha256) {
        problems.push({ path: `${entry.path}/${file.path}`, problem: `sha256 in fixture.json (${file.sha256}) differs from ${MANIFEST_FILE} (${describeValue(entry.files[file.path])})` });
      }
    }
    const { id, case: caseName, family, dtype, tags, params } = meta;
    return { id, case: caseName, family, dtype, tags, params, folder: join(dir, entry.path), metaSha256: found };
  });
  if (problems.length > 0) {
    problems.sort((a, b) => compareIds(a.path, b.path));
    const shown = problems.slice(0, 20).map((problem) => `  ${problem.path}: ${problem.problem}`);
    if (problems.length > shown.length) shown.push(`  ... and ${problems.length - shown.length} more`);
    throw new ConformanceError('E_CHECKSUM', `corpus ${dir} failed verification (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${shown.join('\n')}`, {
      dir,
      problems,
    });
  }
  const fixtures = loaded.filter((fixture): fixture is CorpusFixture => fixture !== null);
  return { dir, bundled, corpusVersion: manifest.corpusVersion, digest: manifest.digest, fixtures };
}

/**
 * Read a fixture's nine tensors for scoring, given its metadata (validated when
 * the corpus was opened). Each file's bytes are read once, synchronously (a few
 * small files: far cheaper than four thread-pool round trips per file), and must
 * match fixture.json's sha256 (E_CHECKSUM), dtype and shape (E_FIXTURE). This is
 * loadFixture (src/fixture-io.ts) without re-reading and re-validating fixture.json.
 */
export function readFixtureTensors(folder: string, meta: FixtureMeta): LoadedFixture {
  const tensors = new Map<FixtureTensorName, Tensor>();
  for (const name of FIXTURE_TENSOR_NAMES) {
    const file = meta.files[name];
    // join(folder, file.path) without its normalising: folder is already normal, file.path a plain name (the schema's const).
    const path = `${folder}${sep}${file.path}`;
    const bytes = readFixtureFileSync(path);
    checkSha256(path, bytes, file.sha256, TENSOR_SHA256_MISMATCH);
    // The bytes are this function's own and go nowhere else: the tensor may be a view into them.
    const tensor = readNpy(bytes, path, { copy: false });
    const output = name.replace(/-magnitude$/, '') as OutputName | InputName;
    const shape = meta.shapes[output];
    if (tensor.dtype !== file.dtype || tensor.shape.length !== shape.length || tensor.shape.some((size, axis) => size !== shape[axis])) {
      throw new ConformanceError(
        'E_FIXTURE',
        `${path}: expected ${file.dtype} with shape [${shape.join(', ')}] (fixture.json), found ${tensor.dtype} with shape [${tensor.shape.join(', ')}]`,
        { path },
      );
    }
    tensors.set(name, tensor);
  }
  const float64 = (name: FixtureTensorName): Float64Tensor => tensors.get(name) as Float64Tensor;
  return {
    meta,
    dir: folder,
    x: tensors.get('x')!,
    w: tensors.get('w')!,
    dy: tensors.get('dy')!,
    dx: float64('dx'),
    dw: float64('dw'),
    db: float64('db'),
    magnitude: { dx: float64('dx-magnitude'), dw: float64('dw-magnitude'), db: float64('db-magnitude') },
  };
}

/**
 * A fixture's metadata, read again when its turn comes: the bytes must still be those
 * verified when the corpus was opened (E_CHECKSUM otherwise), so they need no new schema check.
 */
export function readVerifiedMeta(corpusFixture: CorpusFixture): FixtureMeta {
  const path = join(corpusFixture.folder, FIXTURE_META_FILE);
  const bytes = readFixtureFileSync(path);
  checkSha256(path, bytes, corpusFixture.metaSha256, 'sha256 changed since the corpus was verified', MANIFEST_FILE);
  // Decoded as when it was verified (parseFixtureMeta): strict UTF-8, a leading BOM dropped.
  return JSON.parse(UTF8.decode(bytes)) as FixtureMeta;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

type Finished = { outcome: Outcome; adapterSeconds: number };

/** A fixture ready for the adapter (loaded and converted), or already decided without it. */
type Prepared =
  | { kind: 'decided'; finished: Finished }
  | { kind: 'ready'; meta: FixtureMeta; fixture: LoadedFixture; request: HostRequest; layouts: AdapterLayouts }
  | { kind: 'failed'; error: unknown };

/**
 * Everything a fixture needs before the adapter sees it: the static support
 * decision, then loading (checksums verified) and conversion to the adapter's
 * layouts. Never rejects (a corpus problem comes back as `failed`), so it can
 * run ahead while the adapter computes the previous fixture.
 */
async function prepareFixture(capabilities: AdapterCapabilities, corpusFixture: CorpusFixture, timeoutMs: number): Promise<Prepared> {
  const staticReason = unsupportedReason(capabilities, corpusFixture);
  if (staticReason !== null) return { kind: 'decided', finished: { outcome: { ...outcomeBase(corpusFixture), status: 'skipped', reason: staticReason }, adapterSeconds: 0 } };
  // The reading below is synchronous: let a request just handed to the adapter go out first.
  await new Promise((resolve) => setImmediate(resolve));
  try {
    const { folder } = corpusFixture;
    const meta = readVerifiedMeta(corpusFixture);
    const fixture = readFixtureTensors(folder, meta);
    const layouts: AdapterLayouts = { layout: capabilities.layout, filterLayout: capabilities.filterLayout };
    const expected: ExpectedOutputs = {};
    for (const name of capabilities.outputs) {
      expected[name] = { dtype: meta.dtype, shape: adapterShape(name, meta.shapes[name], layouts), layout: layoutLabel(name, layouts) };
    }
    const request: HostRequest = {
      meta,
      x: toAdapterLayout('x', fixture.x, layouts),
      w: toAdapterLayout('w', fixture.w, layouts),
      dy: toAdapterLayout('dy', fixture.dy, layouts),
      expected,
      timeoutMs,
    };
    return { kind: 'ready', meta, fixture, request, layouts };
  } catch (error) {
    return { kind: 'failed', error };
  }
}

/** Ask a `supports` function; null when the fixture is supported. */
async function askSupport(host: AdapterHost, meta: FixtureMeta, timeoutMs: number): Promise<Finished | null> {
  const base = outcomeBase(meta);
  const answer = await host.checkSupport(meta, timeoutMs);
  if (answer.kind === 'unsupported') return { outcome: { ...base, status: 'skipped', reason: `unsupported: ${answer.reason}` }, adapterSeconds: 0 };
  if (answer.kind === 'timeout') return { outcome: { ...base, status: 'timeout', timeoutMs, notes: ['supports() did not answer in time'] }, adapterSeconds: 0 };
  if (answer.kind === 'error') return { outcome: withDetail({ ...base, status: 'error', message: answer.message }, answer.detail), adapterSeconds: 0 };
  return null;
}

/** Turn the adapter's answer into an outcome: misbehaviour is an error/timeout outcome, outputs are scored. */
function finishFixture(prepared: Extract<Prepared, { kind: 'ready' }>, response: HostResponse, capabilities: AdapterCapabilities): Finished {
  const { meta, fixture, layouts } = prepared;
  const base = outcomeBase(meta);
  if (response.kind === 'timeout') return { outcome: { ...base, status: 'timeout', timeoutMs: prepared.request.timeoutMs }, adapterSeconds: 0 };
  if (response.kind === 'missing') return { outcome: { ...base, status: 'missing', message: response.message }, adapterSeconds: 0 };
  if (response.kind === 'unsupported') return { outcome: { ...base, status: 'skipped', reason: `unsupported: ${response.reason}` }, adapterSeconds: response.adapterSeconds ?? 0 };
  if (response.kind === 'error') {
    return { outcome: withDetail({ ...base, status: 'error', message: response.message }, response.detail), adapterSeconds: response.adapterSeconds ?? 0 };
  }
  const outputs: Partial<Record<OutputName, Tensor>> = {};
  for (const name of OUTPUT_NAMES) {
    const tensor = response.outputs[name];
    if (tensor !== undefined) outputs[name] = fromAdapterLayout(name, tensor, layouts);
  }
  const outcome = scoreFixture({ fixture, outputs, declared: capabilities.outputs, seconds: response.adapterSeconds, notes: response.notes });
  return { outcome, adapterSeconds: response.adapterSeconds };
}

function withDetail<T extends object>(outcome: T, detail: string | undefined): T & { detail?: string } {
  return detail === undefined || detail === '' ? outcome : { ...outcome, detail };
}

export async function runConformance(options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const timeoutMs = checkPositiveInteger(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, '--timeout', 'milliseconds per fixture');
  const loadTimeoutMs = checkPositiveInteger(options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS, '--load-timeout', 'milliseconds for the adapter to start');
  const jobs = checkPositiveInteger(options.jobs ?? 1, '--jobs', 'number of adapter processes');
  if (options.shard !== undefined) checkShard(options.shard);
  const terms = options.filter !== undefined ? parseFilter(options.filter) : [];
  const spec = parseImpl(options.impl);

  const output: HostOutput = { verbose: options.verbose === true, stream: options.adapterOutput ?? process.stderr };
  const hosts: AdapterHost[] = [];
  const outcomes: Outcome[] = [];
  let adapterSeconds = 0;
  let startupSeconds = 0;
  let capabilities: AdapterCapabilities;
  let corpus: OpenedCorpus;
  let fixtureCount: number;
  let selectedCount: number;
  try {
    // The first adapter process starts now and loads while the corpus is verified (on another
    // core); a corpus problem is still reported before an adapter that fails to load.
    const first = createHost(spec, options.impl, output, loadTimeoutMs);
    hosts.push(first);
    const startCalled = performance.now();
    const firstStarted = first.start().then(
      (declared) => {
        startupSeconds = (performance.now() - startCalled) / 1000;
        return { ok: true as const, declared };
      },
      (error: unknown) => ({ ok: false as const, error }),
    );
    corpus = await openCorpus(options.fixturesDir);
    // Only the queue holds the selected fixtures from here on: each is released once it is scored.
    const queue = selectFixtures(corpus.fixtures, { only: options.only, terms, filter: options.filter, shard: options.shard }, corpus.dir);
    fixtureCount = corpus.fixtures.length;
    selectedCount = queue.length;
    corpus.fixtures = [];
    const firstReady = await firstStarted;
    if (!firstReady.ok) throw firstReady.error;
    capabilities = firstReady.declared;
    const hostCount = Math.min(jobs, selectedCount);
    const others: AdapterHost[] = [];
    for (let index = 1; index < hostCount; index++) others.push(createHost(spec, options.impl, output, loadTimeoutMs));
    hosts.push(...others);
    await Promise.all(others.map((host) => host.start()));
    options.onStart?.({ capabilities, total: selectedCount });

    let failure: unknown = null;
    const record = (finished: Finished): void => {
      adapterSeconds += finished.adapterSeconds;
      outcomes.push(finished.outcome);
      options.onOutcome?.(finished.outcome, { done: outcomes.length, total: selectedCount });
    };
    const take = (): Promise<Prepared> | null => {
      const meta = failure === null ? queue.shift() : undefined;
      return meta === undefined ? null : prepareFixture(capabilities, meta, timeoutMs);
    };
    type Launched = { prepared: Extract<Prepared, { kind: 'ready' }>; response: Promise<HostResponse> };
    // A job holds at most maxInFlight fixtures handed to its adapter (a module adapter's process
    // gets the next ones while it computes, so it does not wait for the runner between them),
    // the next fixture, loaded meanwhile, and the one being scored.
    const worker = async (host: AdapterHost): Promise<void> => {
      const depth = Math.max(1, host.maxInFlight ?? 1);
      let upcoming = take();
      /** Start the next fixture that needs the adapter; fixtures decided without it are recorded on the way. */
      const launchNext = async (): Promise<Launched | null> => {
        while (upcoming !== null) {
          const prepared = await upcoming;
          upcoming = null;
          if (prepared.kind === 'failed') {
            failure ??= prepared.error;
            return null;
          }
          if (prepared.kind === 'decided') {
            record(prepared.finished);
            upcoming = take();
            continue;
          }
          if (capabilities.supports === 'function') {
            const decided = await askSupport(host, prepared.meta, timeoutMs);
            if (decided !== null) {
              record(decided);
              upcoming = take();
              continue;
            }
          }
          const response = host.run(prepared.request);
          upcoming = take();
          return { prepared, response };
        }
        return null;
      };
      const inflight: Launched[] = [];
      const fill = async (): Promise<void> => {
        while (inflight.length < depth) {
          const launched = await launchNext();
          if (launched === null) return;
          inflight.push(launched);
        }
      };
      await fill();
      while (inflight.length > 0) {
        const done = inflight.shift()!;
        const response = await done.response;
        // Hand the adapter its next fixture before scoring this one.
        await fill();
        record(finishFixture(done.prepared, response, capabilities));
      }
    };
    await Promise.all(hosts.map((host) => worker(host)));
    if (failure !== null) throw failure;
  } finally {
    await Promise.all(hosts.map((host) => host.close()));
  }

  outcomes.sort((a, b) => compareIds(a.id, b.id));
  const counts = emptyCounts();
  for (const outcome of outcomes) counts[outcome.status]++;
  return {
    impl: options.impl,
    capabilities,
    corpus: { dir: corpus.dir, bundled: corpus.bundled, corpusVersion: corpus.corpusVersion, digest: corpus.digest, fixtureCount },
    selection: {
      filter: options.filter ?? null,
      only: options.only !== undefined && options.only.length > 0 ? [...options.only] : null,
      shard: options.shard ?? null,
      selected: selectedCount,
      notSelected: fixtureCount - selectedCount,
    },
    timeoutMs,
    loadTimeoutMs,
    jobs,
    outcomes,
    counts,
    seconds: (performance.now() - started) / 1000,
    adapterSeconds,
    startupSeconds,
  };
}
