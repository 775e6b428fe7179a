/**
 * The conformance runner as a library: select fixtures, run an adapter on each
 * (in a child process, a `cmd:` program, or `replay:` files), score, and return
 * every outcome. The command (runner-command.ts) is a thin layer over runConformance.
 *
 *   const result = await runConformance({ impl: './adapter.js', filter: 'dtype=float32' });
 *   process.exitCode = exitCodeFor(result);
 *
 * Usage, adapter-load and corpus problems throw ConformanceError (E_USAGE,
 * E_ADAPTER_LOAD, and for the corpus the code of its problems: E_MISSING_FILE,
 * E_FILE_KIND, E_FILE_SIZE, E_CHECKSUM, E_SCHEMA, E_FIXTURE, E_NPY, E_MANIFEST,
 * or E_CORPUS when they are of several kinds); adapter
 * misbehaviour on a fixture is an `error` or `timeout` outcome, never a throw.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConformanceError, describeValue, isConformanceError } from '../src/errors.js';
import { loadFixtureTensors, type LoadedFixture } from '../src/fixture-io.js';
import { checkCorpus, MANIFEST_FILE, type CorpusProblem } from '../src/manifest.js';
import { checkMilliseconds, checkPositiveInteger } from '../src/option-checks.js';
import { bundledCorpusDir } from '../src/paths.js';
import { findBwrap, type SandboxOptions } from './host/sandbox.js';
import { checkCorpusPin, type PinCheck } from '../src/corpus-pinning.js';
import {
  OUTPUT_NAMES,
  type AdapterCapabilities,
  type FixtureMeta,
  type ForwardMeta,
  type OutputName,
  type Outcome,
  type OutcomeStatus,
  type Tensor,
} from '../src/types.js';
import { matchesFilter, parseFilter, type FilterTerm } from './filter.js';
import { askForwardY, runForwardStage, type ForwardStage } from './forward-stage.js';
import { runFuzz, type FuzzOptions, type FuzzSummary } from './fuzz/run-fuzz.js';
import { queuesRequests, type AdapterHost, type HostForwardResponse, type HostOutput, type HostRequest, type HostResponse } from './host/adapter-host.js';
import { unsupportedReason } from './host/capabilities.js';
import { BrowserHost } from './host/browser-host.js';
import { CommandHost } from './host/command-host.js';
import { ModuleHost } from './host/module-host.js';
import { ReplayHost } from './host/replay-host.js';
import type { ExpectedOutputs } from './host/result-check.js';
import { adapterShape, fromAdapterLayout, layoutLabel, toAdapterLayout, type AdapterLayouts } from './layout.js';
import { outcomeBase, scoreFixture, type ErrorMap } from './score.js';
import { checkShard, compareIds, selectShard, type Shard } from './shard.js';

export const DEFAULT_TIMEOUT_MS = 60000;
/** Adapter start-up (import and init(), or a cmd: program's handshake): generous, so a loaded machine cannot fail a healthy adapter. */
export const DEFAULT_LOAD_TIMEOUT_MS = 300000;

export interface RunOptions {
  /** './adapter.js' (ESM or CJS module path) | 'cmd:python3 my_adapter.py' | 'replay:DIR' */
  impl: string;
  /** Default: bundledCorpusDir() (<package root>/fixtures). */
  fixturesDir?: string;
  /** Filter expression (see conformance/filter.ts and the README), e.g. 'family=exact,tag=grouped'. */
  filter?: string;
  /** Fixture ids. */
  only?: string[];
  /** 1-based index. */
  shard?: Shard;
  /** Run module and cmd: adapters under bubblewrap (conformance/host/sandbox.ts, docs/threat-model.md). */
  sandbox?: boolean;
  /** --sandbox-read: more folders the sandboxed adapter may read (an interpreter outside the system folders, its packages). */
  sandboxRead?: string[];
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
  /** `fixture`: the parameters and shapes of a fixture that was run (absent for one decided without the adapter). */
  onOutcome?: (outcome: Outcome, progress: { done: number; total: number }, fixture?: FixtureDetail) => void;
  /** Stop taking new fixtures once this many failed, errored, timed out or are missing (--bail is 1, --max-failures N). */
  maxFailures?: number;
  /** Call the adapter this many times on each fixture and report outputs that are not bitwise identical (--repeat); default 1. */
  repeat?: number;
  /** Keep each failing output's per-element error map in `details` (for the HTML report). */
  errorMaps?: boolean;
  /** Called once the adapter is loaded and the fixtures are selected, before the first fixture runs. */
  onStart?: (info: RunStartInfo) => void;
  /** For `browser:` adapters: the Chromium/Chrome executable (default: $CHROME_PATH, then the usual system paths). */
  browser?: string;
  /** Run drawn fuzz cases instead of the corpus (--fuzz N, --fuzz-replay CASE; conformance/fuzz/run-fuzz.ts). */
  fuzz?: FuzzOptions;
  /** --gradcheck: check the adapter's backward against its own conv2dForward on every fixture (conformance/forward-stage.ts). */
  gradcheck?: boolean;
}

/** What is known when the first fixture is about to run (the console report's header). */
export interface RunStartInfo {
  capabilities: AdapterCapabilities;
  total: number;
  corpus: RunResult['corpus'];
  selection: RunResult['selection'];
  /** For a fuzz run: its seed, and whether it replays one case. */
  fuzz?: { seed: number; replay: boolean };
}

export interface RunResult {
  /** The --impl value as given. */
  impl: string;
  capabilities: AdapterCapabilities;
  corpus: {
    dir: string;
    bundled: boolean;
    corpusVersion: string;
    digest: string;
    fixtureCount: number;
    /**
     * The corpus's digest against the one recorded in the package (src/corpus-pinning.ts).
     * A bundled corpus that does not match stops the run (E_CHECKSUM) before any fixture;
     * a --fixtures corpus is run either way, its status shown in the header and the reports.
     */
    pin?: PinCheck;
  };
  selection: {
    filter: string | null;
    only: string[] | null;
    shard: Shard | null;
    selected: number;
    /** The corpus's fixtures that --only, --filter and --shard left out (fixtureCount - selected). */
    notSelected: number;
  };
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
  /** Parameters, shapes (and error maps with `errorMaps`) of every fixture that did not pass or skip. */
  details: Record<string, FixtureDetail>;
  /** Set when maxFailures stopped the run early. */
  stopped: { maxFailures: number; notRun: number } | null;
  /** Set when repeat > 1: the fixtures whose outputs differed between calls. */
  determinism: DeterminismResult | null;
  /** Set for a fuzz run: the seed, the cases run and each failure with its shrunk case. */
  fuzz?: FuzzSummary;
  /** --gradcheck was on (each outcome of a fixture that ran has its `gradcheck`). */
  gradcheck?: boolean;
}

/** What a report needs of a fixture beyond its outcome. */
export interface FixtureDetail {
  params: FixtureMeta['params'];
  shapes: FixtureMeta['shapes'];
  padding: FixtureMeta['padding'];
  rule: FixtureMeta['tolerance']['rule'];
  /** Per failing output, in the corpus layout: each element's error in bound units (Infinity: a mismatch no bound excuses). */
  errorMaps?: Partial<Record<OutputName, ErrorMap>>;
}

export type { ErrorMap };

export interface DeterminismResult {
  repeat: number;
  /** Fixtures whose outputs (or status) differed between calls, with the outputs that did. */
  nondeterministic: { id: string; outputs: OutputName[] }[];
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

export type ImplSpec =
  | { kind: 'module'; path: string }
  | { kind: 'command'; command: string }
  | { kind: 'replay'; dir: string }
  | { kind: 'browser'; path: string };

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
  if (impl.startsWith('browser:')) {
    const path = impl.slice('browser:'.length).trim();
    if (path === '') throw usage(`--impl browser:MODULE: expected an adapter module path after 'browser:', found nothing`);
    return { kind: 'browser', path: resolve(path) };
  }
  if (impl.startsWith('replay:')) {
    const dir = impl.slice('replay:'.length).trim();
    if (dir === '') throw usage(`--impl replay:DIR: expected a folder after 'replay:', found nothing`);
    return { kind: 'replay', dir: resolve(dir) };
  }
  return { kind: 'module', path: resolve(impl) };
}

/**
 * --sandbox: the corpus (bundled, and --fixtures) hidden from the adapter, plus the
 * --sandbox-read folders it may read. E_USAGE when bwrap is missing, for browser: and
 * replay: (no adapter process to wrap), for a --sandbox-read folder that does not
 * exist, and for --sandbox-read without --sandbox.
 */
function sandboxPlan(options: RunOptions, spec: ImplSpec): SandboxOptions | undefined {
  const read = options.sandboxRead ?? [];
  if (options.sandbox !== true) {
    if (read.length > 0) throw usage(`--sandbox-read ${read[0]}: only applies with --sandbox; add --sandbox, or drop --sandbox-read`);
    return undefined;
  }
  if (spec.kind === 'browser') {
    throw usage(
      `--sandbox: a browser: adapter already runs in a Chromium page (no file system, no processes; docs/threat-model.md says what a page can still do); --sandbox wraps module and cmd: adapters only: drop it for --impl ${options.impl}`,
    );
  }
  if (spec.kind === 'replay') {
    throw usage(`--sandbox: a replay: folder holds outputs computed elsewhere, so no adapter runs here to wrap; drop --sandbox for --impl ${options.impl}`);
  }
  findBwrap();
  const readOnly = read.map((path) => {
    const absolute = resolve(path);
    if (!existsSync(absolute)) throw usage(`--sandbox-read ${path}: expected an existing file or folder, found nothing at ${absolute}`);
    return absolute;
  });
  return { hidden: options.fixturesDir === undefined ? [] : [resolve(options.fixturesDir)], readOnly };
}

export function createHost(
  spec: ImplSpec,
  impl: string,
  output: HostOutput,
  timeouts: { fixtureMs: number; loadMs: number },
  browser?: string,
  sandbox?: SandboxOptions,
): AdapterHost {
  if (spec.kind === 'module') return new ModuleHost(spec.path, impl, output, timeouts.loadMs, sandbox);
  if (spec.kind === 'browser') return new BrowserHost(spec.path, impl, output, { browser, loadTimeoutMs: timeouts.loadMs });
  if (spec.kind === 'command') return new CommandHost(spec.command, output, timeouts.loadMs, sandbox);
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

/** A verified fixture as the run keeps it until its turn: its folder and its fixture.json, read once. */
export interface CorpusFixture {
  /** The fixture's folder. */
  folder: string;
  meta: FixtureMeta;
  /** Its forward.json as checkCorpus read and checked it (null: the fixture has no forward). */
  forward: ForwardMeta | null;
}

interface OpenedCorpus {
  dir: string;
  bundled: boolean;
  corpusVersion: string;
  digest: string;
  fixtures: CorpusFixture[];
}

/** The code of a list of corpus problems: theirs when they share one, E_CORPUS otherwise. */
export function corpusProblemsCode(problems: readonly CorpusProblem[]): ConformanceError['code'] {
  const codes = new Set(problems.map((problem) => problem.code));
  return codes.size === 1 ? problems[0].code : 'E_CORPUS';
}

/**
 * Open a corpus and verify its metadata before anything runs, with the corpus
 * verifier of `conv2d-fixtures verify` (checkCorpus, src/manifest.ts), so both
 * apply the same rules in the same words. Each fixture.json is read once, here,
 * and kept. The tensor files are read, size-checked and hashed once, as each
 * fixture is loaded (loadFixtureTensors), so a damaged tensor file stops the run
 * with its code (E_CHECKSUM, E_FILE_SIZE...) when reached.
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
  const { manifest, fixtures, problems } = await checkCorpus(dir, { tensors: 'later' });
  if (manifest === null) {
    // The manifest does not load: its own error, as it was.
    throw new ConformanceError(problems[0].code, problems[0].problem, { dir, problems });
  }
  if (problems.length > 0) {
    const sorted = [...problems].sort((a, b) => compareIds(a.path, b.path));
    const shown = sorted.slice(0, 20).map((problem) => `  ${problem.path}: ${problem.problem}`);
    if (sorted.length > shown.length) shown.push(`  ... and ${sorted.length - shown.length} more`);
    throw new ConformanceError(corpusProblemsCode(sorted), `corpus ${dir} failed verification (${sorted.length} problem${sorted.length === 1 ? '' : 's'}):\n${shown.join('\n')}`, {
      dir,
      problems: sorted,
    });
  }
  return {
    dir,
    bundled,
    corpusVersion: manifest.corpusVersion,
    digest: manifest.digest,
    fixtures: fixtures.map(({ folder, meta, forward }) => ({ folder, meta, forward })),
  };
}

export type Finished = { outcome: Outcome; adapterSeconds: number; detail?: FixtureDetail };

/** The outputs whose bytes differ between two answers of the adapter (every output when only one is 'ok'). */
function differingOutputs(first: HostResponse, again: HostResponse): OutputName[] {
  if (first.kind !== 'ok' || again.kind !== 'ok') return first.kind === again.kind ? [] : [...OUTPUT_NAMES];
  return OUTPUT_NAMES.filter((name) => {
    const a = first.outputs[name];
    const b = again.outputs[name];
    if (a === undefined || b === undefined) return a !== b;
    return !Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
  });
}

/** A fixture ready for the adapter (loaded and converted), or already decided without it. */
type Prepared =
  | { kind: 'decided'; finished: Finished }
  | ReadyFixture
  | { kind: 'failed'; error: unknown };

/** A fixture's tensors converted to the adapter's layouts, with what its answer must look like. */
export type ReadyFixture = { kind: 'ready'; meta: FixtureMeta; fixture: LoadedFixture; request: HostRequest; layouts: AdapterLayouts };

/** The request for a loaded fixture (a corpus folder, or a fuzz case built in memory), in the adapter's layouts. */
export function readyFixture(capabilities: AdapterCapabilities, fixture: LoadedFixture, timeoutMs: number): ReadyFixture {
  const { meta } = fixture;
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
}

/**
 * Everything a fixture needs before the adapter sees it: the static support
 * decision, then loading (checksums verified) and conversion to the adapter's
 * layouts. Never rejects (a corpus problem comes back as `failed`), so it can
 * run ahead while the adapter computes the previous fixture.
 */
async function prepareFixture(capabilities: AdapterCapabilities, corpusFixture: CorpusFixture, timeoutMs: number): Promise<Prepared> {
  const staticReason = unsupportedReason(capabilities, corpusFixture.meta);
  if (staticReason !== null) return { kind: 'decided', finished: { outcome: { ...outcomeBase(corpusFixture.meta), status: 'skipped', reason: staticReason }, adapterSeconds: 0 } };
  // The reading below is synchronous: let a request just handed to the adapter go out first.
  await new Promise((resolve) => setImmediate(resolve));
  try {
    const { folder, meta, forward } = corpusFixture;
    // y and its magnitude are read only for an adapter that gives a forward (nothing else scores them).
    return readyFixture(capabilities, loadFixtureTensors(folder, meta, { forwardMeta: capabilities.forward === true ? forward : null }), timeoutMs);
  } catch (error) {
    return { kind: 'failed', error };
  }
}

/** Ask a `supports` function; null when the fixture is supported. */
export async function askSupport(host: AdapterHost, meta: FixtureMeta, timeoutMs: number): Promise<Finished | null> {
  const base = outcomeBase(meta);
  const answer = await host.checkSupport(meta, timeoutMs);
  if (answer.kind === 'unsupported') return { outcome: { ...base, status: 'skipped', reason: `unsupported: ${answer.reason}` }, adapterSeconds: 0 };
  if (answer.kind === 'timeout') return { outcome: { ...base, status: 'timeout', timeoutMs, notes: ['supports() did not answer in time'] }, adapterSeconds: 0 };
  if (answer.kind === 'error') return { outcome: withDetail({ ...base, status: 'error', message: answer.message }, answer.detail), adapterSeconds: 0 };
  return null;
}

/** --gradcheck without a forward to check against: E_USAGE, once the adapter's capabilities are known. */
export function checkGradcheckCapability(gradcheck: boolean | undefined, capabilities: AdapterCapabilities, impl: string): void {
  if (gradcheck !== true || capabilities.forward === true) return;
  const how = impl.startsWith('replay:')
    ? 'a replay: folder holds no forward'
    : impl.startsWith('cmd:')
      ? 'the program\'s handshake does not declare "forward": true'
      : `the adapter ${capabilities.name} exports no conv2dForward function`;
  throw usage(`--gradcheck needs conv2dForward: ${how} (docs/adapters.md, "The forward")`, { impl });
}

/** Turn the adapter's answer into an outcome: misbehaviour is an error/timeout outcome, outputs are scored. */
export function finishFixture(prepared: ReadyFixture, response: HostResponse, capabilities: AdapterCapabilities, errorMaps = false, stage: ForwardStage | null = null): Finished {
  const { meta, fixture, layouts } = prepared;
  const detail: FixtureDetail = { params: meta.params, shapes: meta.shapes, padding: meta.padding, rule: meta.tolerance.rule };
  const base = outcomeBase(meta);
  if (response.kind === 'timeout') return { outcome: { ...base, status: 'timeout', timeoutMs: prepared.request.timeoutMs }, adapterSeconds: 0, detail };
  if (response.kind === 'missing') return { outcome: { ...base, status: 'missing', message: response.message }, adapterSeconds: 0, detail };
  if (response.kind === 'unsupported') return { outcome: { ...base, status: 'skipped', reason: `unsupported: ${response.reason}` }, adapterSeconds: response.adapterSeconds ?? 0 };
  if (response.kind === 'error') {
    return { outcome: withDetail({ ...base, status: 'error', message: response.message }, response.detail), adapterSeconds: response.adapterSeconds ?? 0, detail };
  }
  if (stage !== null && stage.kind === 'timeout') {
    return { outcome: { ...base, status: 'timeout', timeoutMs: prepared.request.timeoutMs, notes: ['conv2dForward did not answer in time'] }, adapterSeconds: response.adapterSeconds + stage.adapterSeconds, detail };
  }
  if (stage !== null && stage.kind === 'error') {
    return { outcome: withDetail({ ...base, status: 'error', message: stage.message }, stage.detail), adapterSeconds: response.adapterSeconds + stage.adapterSeconds, detail };
  }
  const outputs: Partial<Record<OutputName, Tensor>> = {};
  for (const name of OUTPUT_NAMES) {
    const tensor = response.outputs[name];
    if (tensor !== undefined) outputs[name] = fromAdapterLayout(name, tensor, layouts);
  }
  const maps: Partial<Record<OutputName, ErrorMap>> | undefined = errorMaps ? {} : undefined;
  const outcome = scoreFixture({
    fixture,
    outputs,
    declared: capabilities.outputs,
    seconds: response.adapterSeconds,
    notes: [...response.notes, ...(stage?.notes ?? [])],
    errorMaps: maps,
    ...(capabilities.precision !== undefined ? { precision: capabilities.precision } : {}),
    ...(stage?.y !== undefined && fixture.forward !== undefined ? { forward: { y: stage.y, expected: fixture.forward } } : {}),
    ...(stage?.gradcheck !== undefined ? { gradcheck: stage.gradcheck } : {}),
  });
  if (maps !== undefined && outcome.status === 'fail') detail.errorMaps = Object.fromEntries(outcome.failing.flatMap((name) => (name === 'y' || name === 'gradcheck' ? [] : [[name, maps[name]]])));
  return { outcome, adapterSeconds: response.adapterSeconds + (stage?.adapterSeconds ?? 0), detail };
}

function withDetail<T extends object>(outcome: T, detail: string | undefined): T & { detail?: string } {
  return detail === undefined || detail === '' ? outcome : { ...outcome, detail };
}

function selectionOf(options: RunOptions, selected: number, fixtureCount: number): RunResult['selection'] {
  return {
    filter: options.filter ?? null,
    only: options.only !== undefined && options.only.length > 0 ? [...options.only] : null,
    shard: options.shard ?? null,
    selected,
    notSelected: fixtureCount - selected,
  };
}

export async function runConformance(options: RunOptions): Promise<RunResult> {
  // Checked once, for the corpus and for --fuzz alike.
  const timeoutMs = checkMilliseconds(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, '--timeout', 'milliseconds per fixture');
  const loadTimeoutMs = checkMilliseconds(options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS, '--load-timeout', 'milliseconds for the adapter to start');
  if (options.fuzz !== undefined) return runFuzz({ ...options, timeoutMs, loadTimeoutMs }, options.fuzz);
  const started = performance.now();
  const jobs = checkPositiveInteger(options.jobs ?? 1, '--jobs', 'number of adapter processes');
  const repeat = checkPositiveInteger(options.repeat ?? 1, '--repeat', 'calls of the adapter per fixture');
  const maxFailures = options.maxFailures === undefined ? undefined : checkPositiveInteger(options.maxFailures, '--max-failures', 'failures before the run stops');
  const details: Record<string, FixtureDetail> = {};
  const nondeterministic: DeterminismResult['nondeterministic'] = [];
  let failures = 0;
  // Set from the record callback below; the annotation keeps TypeScript from narrowing it to null.
  let stopped = null as RunResult['stopped'];
  if (options.shard !== undefined) checkShard(options.shard);
  const terms = options.filter !== undefined ? parseFilter(options.filter) : [];
  const spec = parseImpl(options.impl);

  const output: HostOutput = { verbose: options.verbose === true, stream: options.adapterOutput ?? process.stderr };
  const sandbox = sandboxPlan(options, spec);
  const hosts: AdapterHost[] = [];
  const outcomes: Outcome[] = [];
  let adapterSeconds = 0;
  let startupSeconds = 0;
  let capabilities: AdapterCapabilities;
  let corpus: OpenedCorpus;
  let pin: PinCheck;
  let fixtureCount: number;
  let selectedCount: number;
  // The first adapter's start, settled or not: an error found before it ends (a corpus or usage error) closes
  // the hosts while it runs, and what it starts after that close is closed once it settles (finally, below).
  let firstStarted: Promise<unknown> | null = null;
  let firstSettled = false;
  try {
    // The first adapter process starts now and loads while the corpus is verified (on another
    // core); a corpus problem is still reported before an adapter that fails to load.
    const first = createHost(spec, options.impl, output, { fixtureMs: timeoutMs, loadMs: loadTimeoutMs }, options.browser, sandbox);
    hosts.push(first);
    const startCalled = performance.now();
    const started = first.start().then(
      (declared) => {
        startupSeconds = (performance.now() - startCalled) / 1000;
        return { ok: true as const, declared };
      },
      (error: unknown) => ({ ok: false as const, error }),
    );
    firstStarted = started.finally(() => {
      firstSettled = true;
    });
    corpus = await openCorpus(options.fixturesDir);
    pin = checkCorpusPin(corpus, { bundled: corpus.bundled });
    if (corpus.bundled && pin.status === 'mismatch') {
      throw new ConformanceError('E_CHECKSUM', `corpus ${corpus.dir} failed verification: ${pin.message}`, { dir: corpus.dir, pin });
    }
    // Only the queue holds the selected fixtures from here on: each is released once it is scored.
    const byMeta = new Map(corpus.fixtures.map((fixture) => [fixture.meta, fixture]));
    const selected = selectFixtures(
      corpus.fixtures.map(({ meta }) => meta),
      { only: options.only, terms, filter: options.filter, shard: options.shard },
      corpus.dir,
    );
    const queue: CorpusFixture[] = selected.map((meta) => byMeta.get(meta)!);
    byMeta.clear();
    fixtureCount = corpus.fixtures.length;
    selectedCount = queue.length;
    corpus.fixtures = [];
    const firstReady = await started;
    if (!firstReady.ok) throw firstReady.error;
    capabilities = firstReady.declared;
    checkGradcheckCapability(options.gradcheck, capabilities, options.impl);
    const hostCount = Math.min(jobs, selectedCount);
    const others: AdapterHost[] = [];
    for (let index = 1; index < hostCount; index++) others.push(createHost(spec, options.impl, output, { fixtureMs: timeoutMs, loadMs: loadTimeoutMs }, options.browser, sandbox));
    hosts.push(...others);
    await Promise.all(others.map((host) => host.start()));
    options.onStart?.({
      capabilities,
      total: selectedCount,
      corpus: { dir: corpus.dir, bundled: corpus.bundled, corpusVersion: corpus.corpusVersion, digest: corpus.digest, fixtureCount, pin },
      selection: selectionOf(options, selectedCount, fixtureCount),
    });

    let failure: unknown = null;
    const record = (finished: Finished): void => {
      adapterSeconds += finished.adapterSeconds;
      outcomes.push(finished.outcome);
      const { status } = finished.outcome;
      if (finished.detail !== undefined && status !== 'pass' && status !== 'skipped') details[finished.outcome.id] = finished.detail;
      if (status === 'fail' || status === 'error' || status === 'timeout' || status === 'missing') failures++;
      if (maxFailures !== undefined && failures >= maxFailures && stopped === null) stopped = { maxFailures, notRun: 0 };
      options.onOutcome?.(finished.outcome, { done: outcomes.length, total: selectedCount }, finished.detail);
    };
    const take = (): Promise<Prepared> | null => {
      const meta = failure === null && stopped === null ? queue.shift() : undefined;
      return meta === undefined ? null : prepareFixture(capabilities, meta, timeoutMs);
    };
    /** `y`: the scored forward, asked right after the backward (hosts that queue requests). */
    type Launched = { prepared: Extract<Prepared, { kind: 'ready' }>; response: Promise<HostResponse>; y?: Promise<HostForwardResponse> };
    // A job holds at most maxInFlight fixtures handed to its adapter (a module adapter's process
    // gets the next ones while it computes, so it does not wait for the runner between them),
    // the next fixture, loaded meanwhile, and the one being scored.
    const worker = async (host: AdapterHost): Promise<void> => {
      // Repeated calls go one fixture at a time, so each repeat follows its own first call.
      const depth = repeat > 1 ? 1 : Math.max(1, host.maxInFlight ?? 1);
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
          // A queueing host computes the forward right after the backward, without a round trip between them.
          const y = depth > 1 ? askForwardY(host, prepared, capabilities) : undefined;
          upcoming = take();
          return { prepared, response, y };
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
        for (let call = 2; call <= repeat; call++) {
          const differing = differingOutputs(response, await host.run(done.prepared.request));
          if (differing.length > 0) {
            nondeterministic.push({ id: done.prepared.meta.id, outputs: differing });
            break;
          }
        }
        // A host that queues requests gets its next fixture before this one's forward calls and
        // scoring; one that takes a request at a time (browser:) once this fixture's forward calls
        // are done, so that a page never computes two requests at once.
        const queues = queuesRequests(host);
        if (queues) await fill();
        const stage = await runForwardStage(host, done.prepared, response, capabilities, { gradcheck: options.gradcheck === true }, done.y);
        if (!queues) await fill();
        record(finishFixture(done.prepared, response, capabilities, options.errorMaps === true, stage));
      }
    };
    await Promise.all(hosts.map((host) => worker(host)));
    if (failure !== null) throw failure;
    if (stopped !== null) stopped.notRun = queue.length;
  } finally {
    await Promise.all(hosts.map((host) => host.close()));
    if (firstStarted !== null && !firstSettled) {
      await firstStarted;
      await hosts[0].close();
    }
  }

  outcomes.sort((a, b) => compareIds(a.id, b.id));
  const counts = emptyCounts();
  for (const outcome of outcomes) counts[outcome.status]++;
  return {
    impl: options.impl,
    capabilities,
    corpus: { dir: corpus.dir, bundled: corpus.bundled, corpusVersion: corpus.corpusVersion, digest: corpus.digest, fixtureCount, pin },
    selection: selectionOf(options, selectedCount, fixtureCount),
    timeoutMs,
    loadTimeoutMs,
    jobs,
    outcomes,
    counts,
    seconds: (performance.now() - started) / 1000,
    adapterSeconds,
    details,
    stopped,
    determinism: repeat > 1 ? { repeat, nondeterministic: nondeterministic.sort((a, b) => compareIds(a.id, b.id)) } : null,
    startupSeconds,
    ...(options.gradcheck === true ? { gradcheck: true } : {}),
  };
}
