/**
 * The generator's timing hook (GenerateOptions.timings): the object passed in is
 * filled as generation goes, also when it fails, and nothing of it reaches the
 * corpus (two generations of the same fixtures give the same bytes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { emptyGenerateTimings, generateCorpus } from '../../generator/generate.js';
import { isConformanceError } from '../../src/errors.js';
import { folderHashes, oracleWitness } from '../helpers/oracle-witness.js';

/** One small case with a few families. */
const CASES = ['kernel-3x1'];

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
  t.same(await folderHashes(join(out, 'second')), await folderHashes(join(out, 'first')), 'the same bytes, whatever the timings: none is written');
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
