/**
 * The adapter hosts' own cost, measured in-process through runConformance (the
 * code the CLI runs), with the adapter's start-up apart:
 *
 * - `cmd:` round trip: a program that answers at once (bench/instant-answer.ts).
 *   roundTripMs = (seconds - startupSeconds) / ran; the runner's share is what the
 *   program's own reported seconds leave: (seconds - startupSeconds - adapterSeconds) / ran.
 * - module host overhead ratio: (seconds - startupSeconds) / adapterSeconds, next to
 *   the ratio with start-up counted (seconds / adapterSeconds), as printed before.
 *
 * - --sandbox cost: the same module adapter with and without --sandbox (bubblewrap):
 *   the adapter's start-up (paid again at each restart) and the wall time per fixture,
 *   start-up apart: (seconds - startupSeconds) / ran.
 *
 * Each is repeated and the run with the median value kept.
 */
import { runConformance, type RunResult } from '../conformance/run.js';
import { findBwrap } from '../conformance/host/sandbox.js';
import { isConformanceError } from '../src/errors.js';
import { distPath, median } from './measure-runner.js';

export interface CommandRoundTrip {
  fixtures: number;
  seconds: number;
  startupSeconds: number;
  /** The program's own reported seconds, summed. */
  programSeconds: number;
  /** Wall time per fixture, start-up apart, ms. */
  roundTripMs: number;
  /** The runner's share per fixture, ms: wall time per fixture minus the program's own. */
  runnerShareMs: number;
  repetitions: number[];
}

export interface ModuleOverhead {
  fixtures: number;
  seconds: number;
  startupSeconds: number;
  adapterSeconds: number;
  /** (seconds - startupSeconds) / adapterSeconds. */
  overheadRatio: number;
  /** seconds / adapterSeconds: start-up counted as overhead. */
  overheadRatioWithStartup: number;
  repetitions: number[];
}

function ran(result: RunResult): number {
  return result.outcomes.filter((outcome) => outcome.status !== 'skipped').length;
}

/** The measurement with the median `key` of `repetitions` runs. */
async function medianOf<T>(repetitions: number, measure: () => Promise<T>, key: (value: T) => number): Promise<{ median: T; values: number[] }> {
  const runs: T[] = [];
  for (let index = 0; index < repetitions; index++) runs.push(await measure());
  const values = runs.map(key);
  const middle = median(values);
  const chosen = runs.reduce((best, run) => (Math.abs(key(run) - middle) < Math.abs(key(best) - middle) ? run : best));
  return { median: chosen, values };
}

export async function measureCommandRoundTrip(options: { fixturesDir: string; repetitions: number }): Promise<CommandRoundTrip> {
  const program = distPath('bench', 'instant-answer.js');
  const impl = `cmd:${JSON.stringify(process.execPath)} ${JSON.stringify(program)} ${JSON.stringify(options.fixturesDir)}`;
  const measure = async (): Promise<CommandRoundTrip> => {
    const result = await runConformance({ impl, fixturesDir: options.fixturesDir });
    const fixtures = ran(result);
    const fixtureSeconds = result.seconds - result.startupSeconds;
    return {
      fixtures,
      seconds: result.seconds,
      startupSeconds: result.startupSeconds,
      programSeconds: result.adapterSeconds,
      roundTripMs: (fixtureSeconds / fixtures) * 1000,
      runnerShareMs: ((fixtureSeconds - result.adapterSeconds) / fixtures) * 1000,
      repetitions: [],
    };
  };
  const { median: chosen, values } = await medianOf(options.repetitions, measure, (run) => run.runnerShareMs);
  return { ...chosen, repetitions: values };
}

export async function measureModuleOverhead(options: { impl: string; fixturesDir?: string; repetitions: number }): Promise<ModuleOverhead> {
  const measure = async (): Promise<ModuleOverhead> => {
    const result = await runConformance({ impl: options.impl, fixturesDir: options.fixturesDir });
    return {
      fixtures: ran(result),
      seconds: result.seconds,
      startupSeconds: result.startupSeconds,
      adapterSeconds: result.adapterSeconds,
      overheadRatio: (result.seconds - result.startupSeconds) / result.adapterSeconds,
      overheadRatioWithStartup: result.seconds / result.adapterSeconds,
      repetitions: [],
    };
  };
  const { median: chosen, values } = await medianOf(options.repetitions, measure, (run) => run.overheadRatio);
  return { ...chosen, repetitions: values };
}

export interface SandboxSide {
  fixtures: number;
  startupSeconds: number;
  /** Wall time per fixture, start-up apart, ms. */
  perFixtureMs: number;
  repetitions: number[];
}

export interface SandboxCost {
  plain: SandboxSide;
  sandboxed: SandboxSide;
  /** sandboxed - plain: what --sandbox adds per fixture (ms) and per adapter process started (s). */
  perFixtureMs: number;
  startupSeconds: number;
}

/** The module host with and without --sandbox; skipped (with the reason) when bwrap is not installed. */
export async function measureSandboxCost(options: { impl: string; repetitions: number }): Promise<SandboxCost | { skipped: string }> {
  try {
    findBwrap();
  } catch (error) {
    if (isConformanceError(error, 'E_USAGE')) return { skipped: error.message };
    throw error;
  }
  // Interleaved (plain, sandboxed, plain, ...): a load that changes during the bench weighs on both sides alike.
  const runs: { plain: SandboxSide[]; sandboxed: SandboxSide[] } = { plain: [], sandboxed: [] };
  for (let index = 0; index < options.repetitions; index++) {
    for (const sandbox of [false, true]) {
      const result = await runConformance({ impl: options.impl, sandbox });
      const fixtures = ran(result);
      const measured = { fixtures, startupSeconds: result.startupSeconds, perFixtureMs: ((result.seconds - result.startupSeconds) / fixtures) * 1000, repetitions: [] };
      (sandbox ? runs.sandboxed : runs.plain).push(measured);
    }
  }
  const medianSide = (sides: SandboxSide[]): SandboxSide => {
    const values = sides.map((side) => side.perFixtureMs);
    const middle = median(values);
    const chosen = sides.reduce((best, side) => (Math.abs(side.perFixtureMs - middle) < Math.abs(best.perFixtureMs - middle) ? side : best));
    return { ...chosen, startupSeconds: median(sides.map((side) => side.startupSeconds)), repetitions: values };
  };
  const plain = medianSide(runs.plain);
  const sandboxed = medianSide(runs.sandboxed);
  return { plain, sandboxed, perFixtureMs: sandboxed.perFixtureMs - plain.perFixtureMs, startupSeconds: sandboxed.startupSeconds - plain.startupSeconds };
}
