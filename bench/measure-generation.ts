/**
 * Time a full corpus generation, witnesses included, into a scratch folder, with
 * the generator's timing hook (GenerateOptions.timings) for the split into the
 * float64 oracle, each witness backend, and writing.
 */
import { performance } from 'node:perf_hooks';
import { witnessBackend, WITNESS_BACKENDS } from '../generator/build-fixture.js';
import { emptyGenerateTimings, type GenerateTimings } from '../generator/generate.js';

export interface GenerationMeasurement {
  /** From creating the witnesses (loading the backends) to the verified corpus in place. */
  seconds: number;
  fixtures: number;
  digest: string;
  split: {
    oracleSeconds: number;
    /** Time inside each backend's compute(), by stable backend name ('onnxruntime', 'tensorflow.js'). */
    witnesses: Record<string, number>;
    writeSeconds: number;
    /** Everything else: loading the backends, the witness agreement checks, the manifest, verification, the swap. */
    other: number;
  };
  /** Parts of `other`, as measured. */
  detail: {
    witnessStartupSeconds: number;
    agreementSeconds: number;
    finishingSeconds: number;
    /** The witness implementations that ran, e.g. ['onnxruntime-node', 'tfjs-cpu']. */
    witnessNames: string[];
  };
  totalBytes: number;
}

export async function measureGeneration(options: { outDir: string; seedCount?: number; onFixture?: (done: number, total: number) => void }): Promise<GenerationMeasurement> {
  const started = performance.now();
  // Loaded here, not at the top: they pull in onnxruntime-node and TensorFlow.js.
  const { createWitnesses } = await import('../generator/witnesses.js');
  const { generateCorpus } = await import('../generator/generate.js');
  const witnesses = await createWitnesses();
  const witnessStartupSeconds = (performance.now() - started) / 1000;
  const timings: GenerateTimings = emptyGenerateTimings();
  try {
    const summary = await generateCorpus({
      outDir: options.outDir,
      witnesses,
      seedCount: options.seedCount,
      timings,
      onFixture: (_plan, done, total) => options.onFixture?.(done, total),
    });
    const seconds = (performance.now() - started) / 1000;
    const byBackend: Record<string, number> = Object.fromEntries(WITNESS_BACKENDS.map((backend) => [backend, 0]));
    for (const [name, spent] of Object.entries(timings.witnessSeconds)) {
      const backend = witnessBackend(name);
      byBackend[backend] = (byBackend[backend] ?? 0) + spent;
    }
    const witnessTotal = Object.values(byBackend).reduce((sum, value) => sum + value, 0);
    return {
      seconds,
      fixtures: summary.fixtures,
      digest: summary.digest,
      split: {
        oracleSeconds: timings.oracleSeconds,
        witnesses: byBackend,
        writeSeconds: timings.writingSeconds,
        other: seconds - timings.oracleSeconds - witnessTotal - timings.writingSeconds,
      },
      detail: {
        witnessStartupSeconds,
        agreementSeconds: timings.agreementSeconds,
        finishingSeconds: timings.finishingSeconds,
        witnessNames: witnesses.map((witness) => witness.name),
      },
      totalBytes: summary.totalBytes,
    };
  } finally {
    await Promise.all(witnesses.map((witness) => witness.dispose()));
  }
}
