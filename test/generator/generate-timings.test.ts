/**
 * The generator's timing hook (GenerateOptions.timings): the object passed in is
 * filled as generation goes, also when it fails, and nothing of it reaches the
 * corpus (two generations of the same fixtures give the same bytes).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { emptyGenerateTimings, generateCorpus } from '../../generator/generate.js';
import type { Witness, WitnessRequest, WitnessResult } from '../../generator/witnesses/witness.js';
import { toFloat64Array } from '../../src/dtype.js';
import { isConformanceError } from '../../src/errors.js';
import { sha256Hex } from '../../src/hash.js';
import { conv2dBackward } from '../../src/oracle/index.js';

/** One small case with a few families. */
const CASES = ['kernel-3x1'];

/** A float64 "witness" computed by the oracle (its name decides the backend it stands for), optionally off by `shift` in one dw element. */
function oracleWitness(name: string, shift = 0): Witness {
  return {
    name,
    version: 'test',
    async compute(request: WitnessRequest): Promise<WitnessResult> {
      const decode = (tensor: WitnessRequest['x']) => ({ dtype: 'float64' as const, shape: tensor.shape, data: toFloat64Array(tensor.data, tensor.dtype) });
      const gradients = conv2dBackward(decode(request.x), decode(request.w), decode(request.dy), request.params);
      const dw = Float64Array.from(gradients.dw.data);
      dw[0] += shift;
      return { dx: gradients.dx.data, dw, db: gradients.db.data, computeDtype: 'float64' };
    },
    async dispose() {},
  };
}

async function fileHashes(dir: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    hashes.set(path.slice(dir.length), sha256Hex(await readFile(path)));
  }
  return hashes;
}

t.test('timings are filled in, per witness, and are the summary timings', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'timings-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const witnesses = [oracleWitness('onnxruntime-test'), oracleWitness('tfjs-test')];
  const first = emptyGenerateTimings();
  const summary = await generateCorpus({ outDir: join(out, 'first'), cases: CASES, witnesses, timings: first });
  t.equal(summary.timings, first, 'the summary returns the object passed in');
  t.ok(first.oracleSeconds > 0, 'oracle time measured');
  t.same(Object.keys(first.witnessSeconds).sort(), ['onnxruntime-test', 'tfjs-test'], 'one entry per witness');
  t.ok(first.witnessSeconds['onnxruntime-test'] > 0 && first.witnessSeconds['tfjs-test'] > 0);
  t.ok(first.agreementSeconds > 0, 'agreement checks measured');
  t.ok(first.writingSeconds > 0, 'writing measured');
  t.ok(first.finishingSeconds > 0, 'manifest, report and verification measured');

  const second = emptyGenerateTimings();
  await generateCorpus({ outDir: join(out, 'second'), cases: CASES, witnesses, timings: second });
  t.same(await fileHashes(join(out, 'second')), await fileHashes(join(out, 'first')), 'the same bytes, whatever the timings: none is written');
});

t.test('timings are kept when generation fails', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'timings-fail-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const timings = emptyGenerateTimings();
  // 1 is far beyond any bound on these small data: the tfjs stand-in contradicts the oracle.
  const witnesses = [oracleWitness('onnxruntime-test'), oracleWitness('tfjs-test', 1)];
  const error = await generateCorpus({ outDir: join(out, 'corpus'), cases: CASES, witnesses, timings }).then(
    () => null,
    (thrown: unknown) => thrown,
  );
  t.ok(isConformanceError(error, 'E_WITNESS_DISAGREES'), 'generation fails');
  t.ok(timings.oracleSeconds > 0, 'the oracle time of the fixture that failed is there');
  t.ok(timings.witnessSeconds['tfjs-test'] > 0, 'and the witness time');
});
