/**
 * `--fuzz N`: run the adapter on N cases drawn from a seed (case-space.ts), each
 * judged like a corpus fixture (the same scoring and bound), shrink every failure
 * to a minimal failing case (shrink.ts), and optionally save each minimal failure
 * as a fixture folder of a corpus (save-failures.ts). `--fuzz-replay CASE` runs the
 * one case a failure printed. Works for module, `cmd:` and `browser:` adapters;
 * `replay:` holds outputs for corpus fixtures only.
 *
 * Reproducible: the cases and their data follow from the seed and the adapter's
 * declarations alone (dtypes and support flags; a `supports` function's answers
 * pick which drawn cases are run), through src/prng.ts.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ConformanceError } from '../../src/errors.js';
import { sha256Hex } from '../../src/hash.js';
import type { LoadedFixture } from '../../src/fixture-io.js';
import { Prng } from '../../src/prng.js';
import type { ReportFuzz, ReportFuzzFailure } from '../../src/report-types.js';
import type { AdapterCapabilities, Outcome } from '../../src/types.js';
import { queuesRequests, type AdapterHost, type HostOutput } from '../host/adapter-host.js';
import { unsupportedReason } from '../host/capabilities.js';
import { askForwardY, runForwardStage } from '../forward-stage.js';
import { DEFAULT_LOAD_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, askSupport, checkGradcheckCapability, createHost, emptyCounts, finishFixture, parseImpl, readyFixture, type Finished, type RunOptions, type RunResult } from '../run.js';
import { compareIds } from '../shard.js';
import { drawFuzzCase } from './case-space.js';
import { buildFuzzCase, caseGeometry, caseMacs, formatFuzzCase, fuzzCaseMeta, parseFuzzCase, resolvedPads, type BuiltCase, type FuzzCase } from './fuzz-case.js';
import { checkSaveFailuresDir, saveFailure } from './save-failures.js';
import { shrinkFuzzCase } from './shrink.js';

/** What --fuzz, --seed, --fuzz-time, --fuzz-replay and --save-failures ask for. */
export interface FuzzOptions {
  /** Cases to draw (--fuzz N); ignored with `replay`. */
  cases: number;
  /** The seed (--seed); default: one drawn from the OS's randomness, printed and reported. */
  seed?: number;
  /** Stop drawing new cases after this many seconds (--fuzz-time). */
  timeSeconds?: number;
  /** Run this one case (--fuzz-replay CASE, the one-line form), instead of drawing. */
  replay?: string;
  /** Write each minimal failure as a fixture folder of the corpus in this folder (--save-failures DIR). */
  saveFailures?: string;
  /** Shrink failures (default true). */
  shrink?: boolean;
  /** Adapter calls one shrinking may make (default 400). */
  maxShrinkRuns?: number;
  /** A host to run the adapter on instead of the one --impl makes (embedding, and in-process tests); closed at the end. */
  host?: AdapterHost;
  /** Called with each failure once it is shrunk (and saved), before its outcome is reported. */
  onFailure?: (failure: FuzzFailure) => void;
}

/** A failure found by fuzzing (the JSON report's type). */
export type FuzzFailure = ReportFuzzFailure;
/** The fuzz section of a run's result (the JSON report's type). */
export type FuzzSummary = ReportFuzz;

/** Draws of a case slot before it is given up as unsupported (a `supports` function that declines most cases). */
const MAX_DRAWS_PER_CASE = 50;
const DEFAULT_MAX_SHRINK_RUNS = 400;

function usage(message: string, context: Record<string, unknown> = {}): ConformanceError {
  return new ConformanceError('E_USAGE', message, context);
}

/** The options that make no sense with --fuzz, refused with what to do instead. */
function checkFuzzOptions(options: RunOptions, fuzz: FuzzOptions): void {
  const conflicting: [boolean, string][] = [
    [options.fixturesDir !== undefined, '--fixtures'],
    [options.filter !== undefined, '--filter'],
    [(options.only ?? []).length > 0, '--only'],
    [options.shard !== undefined, '--shard'],
    [(options.repeat ?? 1) > 1, '--repeat'],
    [(options.jobs ?? 1) > 1, '--jobs'],
  ];
  const found = conflicting.filter(([given]) => given).map(([, name]) => name);
  if (found.length > 0) {
    throw usage(`--fuzz/--fuzz-replay: expected none of --fixtures, --filter, --only, --shard, --repeat, --jobs (fuzz cases are drawn, not selected, and run in one adapter process), found ${found.join(', ')}`, { found });
  }
  if (fuzz.replay === undefined && (!Number.isInteger(fuzz.cases) || fuzz.cases < 1)) throw usage(`--fuzz: expected a positive integer number of cases, found ${fuzz.cases}`);
  if (fuzz.seed !== undefined && (!Number.isInteger(fuzz.seed) || fuzz.seed < 0 || fuzz.seed > 0xffffffff)) throw usage(`--seed: expected an integer in [0, 4294967295], found ${fuzz.seed}`);
  if (fuzz.timeSeconds !== undefined && !(fuzz.timeSeconds > 0)) throw usage(`--fuzz-time: expected a positive number of seconds, found ${fuzz.timeSeconds}`);
}

function isFailing(outcome: Outcome): boolean {
  return outcome.status === 'fail' || outcome.status === 'error' || outcome.status === 'timeout' || outcome.status === 'missing';
}

/** Re-resolve an auto mode's pads for a candidate's shapes. */
function withResolvedPads(candidate: FuzzCase): FuzzCase {
  return candidate.padding === 'EXPLICIT' ? candidate : { ...candidate, pads: resolvedPads(candidate) };
}

/** Run fuzz cases on the adapter; the result has the shape of a corpus run's, with `fuzz` set. */
export async function runFuzz(options: RunOptions, fuzz: FuzzOptions): Promise<RunResult & { fuzz: FuzzSummary }> {
  const started = performance.now();
  checkFuzzOptions(options, fuzz);
  const spec = parseImpl(options.impl);
  if (spec.kind === 'replay') {
    throw usage(`--fuzz with --impl replay:DIR: a replay folder holds outputs computed for the corpus fixtures only; fuzz cases need an adapter that computes (a module, cmd: or browser:)`, { impl: options.impl });
  }
  if (fuzz.saveFailures !== undefined) checkSaveFailuresDir(fuzz.saveFailures);
  const replay = fuzz.replay === undefined ? null : parseFuzzCase(fuzz.replay);
  const seed = fuzz.seed ?? (replay?.seed ?? randomInt(0, 2 ** 32 - 1));
  const requested = replay === null ? fuzz.cases : 1;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const output: HostOutput = { verbose: options.verbose === true, stream: options.adapterOutput ?? process.stderr };
  const host: AdapterHost = fuzz.host ?? createHost(spec, options.impl, output, { fixtureMs: timeoutMs, loadMs: loadTimeoutMs }, options.browser);
  const outcomes: Outcome[] = [];
  const details: RunResult['details'] = {};
  const failures: FuzzFailure[] = [];
  const caseLines: string[] = [];
  let adapterSeconds = 0;
  let startupSeconds = 0;
  let oracleSeconds = 0;
  let shrinkSeconds = 0;
  let macsTotal = 0;
  let maxMacs = 0;
  let stoppedByTime = false;
  let stopped = null as RunResult['stopped'];
  let capabilities: AdapterCapabilities;
  const corpus: RunResult['corpus'] = { dir: `fuzz (seed ${seed})`, bundled: false, corpusVersion: 'fuzz', digest: sha256Hex(`fuzz seed ${seed}`), fixtureCount: requested };
  try {
    const startCalled = performance.now();
    capabilities = await host.start();
    startupSeconds = (performance.now() - startCalled) / 1000;
    const declared = capabilities;
    checkGradcheckCapability(options.gradcheck, capabilities, options.impl);
    options.onStart?.({ capabilities, total: requested, corpus, selection: { filter: null, only: null, shard: null, selected: requested, notSelected: 0 }, fuzz: { seed, replay: replay !== null } });

    const build = (fuzzCase: FuzzCase, id: string): BuiltCase | { problem: string } => {
      const start = performance.now();
      try {
        return buildFuzzCase(fuzzCase, id);
      } finally {
        oracleSeconds += (performance.now() - start) / 1000;
      }
    };
    /** Does the adapter take this case (declared dtypes and flags, and its `supports` function)? An error or timeout there is an outcome. */
    const support = async (fuzzCase: FuzzCase, id: string): Promise<'supported' | 'unsupported' | Finished> => {
      const { meta } = fuzzCaseMeta(fuzzCase, id);
      if (unsupportedReason(declared, meta) !== null) return 'unsupported';
      if (declared.supports !== 'function') return 'supported';
      const decided = await askSupport(host, meta, timeoutMs);
      if (decided === null) return 'supported';
      return decided.outcome.status === 'skipped' ? 'unsupported' : decided;
    };
    /** Run a built (and supported) case on the adapter. */
    const runBuilt = async (built: BuiltCase): Promise<Finished> => {
      const fixture: LoadedFixture = { meta: built.meta, dir: built.meta.id, ...built.tensors, forward: built.forward };
      const ready = readyFixture(declared, fixture, timeoutMs);
      const pending = host.run(ready.request);
      // A queueing host computes the forward right after the backward, without a round trip between them.
      const y = queuesRequests(host) ? askForwardY(host, ready, declared) : undefined;
      const response = await pending;
      const stage = await runForwardStage(host, ready, response, declared, { gradcheck: options.gradcheck === true }, y);
      return finishFixture(ready, response, declared, options.errorMaps === true, stage);
    };
    /** Support, then build, then run: null when the adapter does not take the case or its family's rule cannot hold. */
    const attempt = async (fuzzCase: FuzzCase, id: string): Promise<{ finished: Finished; built: BuiltCase | null } | { problem: string } | null> => {
      const supported = await support(fuzzCase, id);
      if (supported === 'unsupported') return null;
      if (supported !== 'supported') return { finished: supported, built: null };
      const built = build(fuzzCase, id);
      if ('problem' in built) return built;
      return { finished: await runBuilt(built), built };
    };

    const prng = new Prng(seed);
    for (let index = 0; index < requested; index++) {
      if (fuzz.timeSeconds !== undefined && (performance.now() - started) / 1000 > fuzz.timeSeconds) {
        stoppedByTime = true;
        break;
      }
      const id = replay === null ? `fuzz-${seed}-${index + 1}` : `fuzz-replay`;
      let finished: Finished | null = null;
      let fuzzCase: FuzzCase | null = null;
      let built: BuiltCase | null = null;
      for (let draw = 0; draw < MAX_DRAWS_PER_CASE && finished === null; draw++) {
        fuzzCase = replay ?? drawFuzzCase(prng, declared);
        const tried = await attempt(fuzzCase, id);
        if (tried !== null && 'problem' in tried) {
          if (replay !== null) throw usage(`--fuzz-replay: the case cannot be judged: ${tried.problem}`, { replay: fuzz.replay });
          continue;
        }
        if (tried === null) {
          if (replay === null) continue;
          const { meta } = fuzzCaseMeta(fuzzCase, id);
          finished = { outcome: { id, family: meta.family, dtype: meta.dtype, tags: meta.tags, status: 'skipped', reason: 'unsupported: the adapter does not support this case' }, adapterSeconds: 0 };
          break;
        }
        finished = tried.finished;
        built = tried.built;
      }
      if (finished !== null && fuzzCase !== null && built === null) {
        // Decided without the data (skipped replay, or supports() failed): recorded as it is.
        outcomes.push(finished.outcome);
        options.onOutcome?.(finished.outcome, { done: outcomes.length, total: requested });
        continue;
      }
      if (finished === null || fuzzCase === null || built === null) {
        const outcome: Outcome = { id, family: 'normal', dtype: declared.dtypes[0], tags: ['fuzz'], status: 'skipped', reason: `unsupported: the adapter declined ${MAX_DRAWS_PER_CASE} cases drawn in a row` };
        outcomes.push(outcome);
        options.onOutcome?.(outcome, { done: outcomes.length, total: requested });
        continue;
      }
      const line = formatFuzzCase(fuzzCase);
      caseLines.push(line);
      const macs = caseMacs(built.geometry);
      macsTotal += macs;
      maxMacs = Math.max(maxMacs, macs);
      adapterSeconds += finished.adapterSeconds;
      const detail = finished.detail;
      if (isFailing(finished.outcome)) {
        const failure: FuzzFailure = { id, case: line, status: finished.outcome.status, macs, shrunk: null, saved: null };
        let minimal: { fuzzCase: FuzzCase; built: BuiltCase; status: Outcome['status'] } = { fuzzCase, built, status: finished.outcome.status };
        const shrinkable = finished.outcome.status === 'fail' || finished.outcome.status === 'error';
        if (fuzz.shrink !== false && shrinkable) {
          const shrinkStart = performance.now();
          const minimalId = `${id}-min`;
          const result = await shrinkFuzzCase(
            fuzzCase,
            async (candidate) => {
              const tried = await attempt(candidate, minimalId);
              if (tried === null || 'problem' in tried || tried.built === null) return false;
              const status = tried.finished.outcome.status;
              if (!isFailing(tried.finished.outcome) || status === 'timeout') return false;
              minimal = { fuzzCase: candidate, built: tried.built, status };
              return true;
            },
            { maxRuns: fuzz.maxShrinkRuns ?? DEFAULT_MAX_SHRINK_RUNS, resolve: withResolvedPads },
          );
          shrinkSeconds += (performance.now() - shrinkStart) / 1000;
          const minimalCase = result.minimal;
          if (minimal.fuzzCase !== minimalCase) {
            // The shrinker's minimum is the failing case itself (no candidate failed).
            minimal = { fuzzCase, built, status: finished.outcome.status };
          }
          const minimalBuilt = minimal.fuzzCase === fuzzCase ? build(fuzzCase, minimalId) : minimal.built;
          if (!('problem' in minimalBuilt)) minimal = { ...minimal, built: minimalBuilt };
          failure.shrunk = {
            id: minimalId,
            case: formatFuzzCase(minimalCase),
            macs: caseMacs(caseGeometry(minimalCase)),
            steps: result.steps,
            runs: result.runs,
            exhausted: result.exhausted,
            status: minimal.status,
          };
        }
        if (fuzz.saveFailures !== undefined) failure.saved = await saveFailure(fuzz.saveFailures, minimal.built);
        failures.push(failure);
        fuzz.onFailure?.(failure);
        if (options.maxFailures !== undefined && failures.length >= options.maxFailures) stopped = { maxFailures: options.maxFailures, notRun: requested - index - 1 };
      }
      outcomes.push(finished.outcome);
      if (detail !== undefined && finished.outcome.status !== 'pass' && finished.outcome.status !== 'skipped') details[id] = detail;
      options.onOutcome?.(finished.outcome, { done: outcomes.length, total: requested }, detail);
      if (stopped !== null) break;
    }
  } finally {
    await host.close();
  }
  outcomes.sort((a, b) => compareIds(a.id, b.id));
  const counts = emptyCounts();
  for (const outcome of outcomes) counts[outcome.status]++;
  const run = caseLines.length;
  return {
    impl: options.impl,
    capabilities,
    corpus,
    selection: { filter: null, only: null, shard: null, selected: requested, notSelected: 0 },
    timeoutMs,
    loadTimeoutMs,
    jobs: 1,
    outcomes,
    counts,
    seconds: (performance.now() - started) / 1000,
    adapterSeconds,
    startupSeconds,
    details,
    stopped,
    determinism: null,
    ...(options.gradcheck === true ? { gradcheck: true } : {}),
    fuzz: {
      seed,
      requested,
      cases: run,
      timeSeconds: fuzz.timeSeconds ?? null,
      stoppedByTime,
      replay: replay === null ? null : formatFuzzCase(replay),
      casesDigest: sha256Hex(caseLines.map((line) => `${line}\n`).join('')),
      meanMacs: run === 0 ? 0 : macsTotal / run,
      maxMacs,
      oracleSeconds,
      shrinkSeconds,
      failures,
    },
  };
}
