/**
 * Fuzzing's cost (conformance/fuzz/): fuzz cases per second for the bundled naive
 * adapter through the real module host (start-up apart), with the share of the
 * runner's own float64 oracle; the cost of shrinking one failure (a fuzz-only
 * self-test bug, stopped at its first failure); and, outside --quick, `--fuzz 1000`
 * of every correct self-test implementation and the bundled naive adapter (the
 * check test/conformance/fuzz-self-test.test.ts runs with fewer cases).
 */
import { performance } from 'node:perf_hooks';
import { runConformance } from '../conformance/run.js';
import { CATALOG, catalogModulePath } from '../conformance/self-test/catalog.js';

export interface FuzzThroughput {
  impl: string;
  cases: number;
  seed: number;
  /** Cases per second, the adapter's start-up apart. */
  casesPerSecond: number;
  seconds: number;
  startupSeconds: number;
  /** Drawing the data and computing the expected values in the runner (float64 oracle). */
  oracleSeconds: number;
  adapterSeconds: number;
  meanMacs: number;
}

export interface ShrinkCost {
  impl: string;
  drawnMacs: number;
  shrunkMacs: number;
  shrunkCase: string;
  /** Adapter runs the shrinking took, and its wall time. */
  runs: number;
  seconds: number;
}

export interface CorrectAtScale {
  cases: number;
  entries: { name: string; passed: number; skipped: number; failures: number; seconds: number }[];
}

/** Fuzz cases per second for an adapter (module host), start-up apart. */
export async function measureFuzzThroughput(impl: string, cases: number, seed = 1): Promise<FuzzThroughput> {
  const result = await runConformance({ impl, fuzz: { cases, seed } });
  const fuzz = result.fuzz!;
  return {
    impl,
    cases: fuzz.cases,
    seed,
    casesPerSecond: fuzz.cases / (result.seconds - result.startupSeconds),
    seconds: result.seconds,
    startupSeconds: result.startupSeconds,
    oracleSeconds: fuzz.oracleSeconds,
    adapterSeconds: result.adapterSeconds,
    meanMacs: fuzz.meanMacs,
  };
}

/** The cost of shrinking the first failure of a buggy implementation (--fuzz 300 --seed 1 --max-failures 1). */
export async function measureShrink(name = 'buggy-dx-last-tile-skipped'): Promise<ShrinkCost> {
  const entry = CATALOG.find((item) => item.name === name)!;
  const impl = catalogModulePath(entry);
  const result = await runConformance({ impl, maxFailures: 1, fuzz: { cases: 300, seed: 1 } });
  const failure = result.fuzz!.failures[0];
  if (failure?.shrunk == null) throw new Error(`bench: ${name} was not found by --fuzz 300 --seed 1`);
  return { impl, drawnMacs: failure.macs, shrunkMacs: failure.shrunk.macs, shrunkCase: failure.shrunk.case, runs: failure.shrunk.runs, seconds: result.fuzz!.shrinkSeconds };
}

/** `--fuzz CASES` for every correct self-test implementation (the bundled naive adapter among them; tfjs and onnxruntime apart). */
export async function measureCorrectAtScale(cases: number): Promise<CorrectAtScale> {
  const entries: CorrectAtScale['entries'] = [];
  for (const entry of CATALOG.filter((item) => item.expected === 'pass' && item.fuzzOnly !== true)) {
    const started = performance.now();
    const result = await runConformance({ impl: catalogModulePath(entry), fuzz: { cases, seed: 1 } });
    entries.push({ name: entry.name, passed: result.counts.pass, skipped: result.counts.skipped, failures: result.fuzz!.failures.length, seconds: (performance.now() - started) / 1000 });
  }
  return { cases, entries };
}
