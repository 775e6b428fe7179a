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
 * Each is repeated and the run with the median value kept.
 */
import { runConformance, type RunResult } from '../conformance/run.js';
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
