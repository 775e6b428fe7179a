/**
 * The generator: byte-for-byte reproduction of committed fixtures, refusal when a
 * witness contradicts the oracle (with the old corpus left untouched), and the
 * version guard.
 */
import t from 'tap';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledCorpusDir } from '../../src/paths.js';
import { isConformanceError } from '../../src/errors.js';
import { CORPUS_VERSION } from '../../generator/corpus-version.js';
import { generateCorpus } from '../../generator/generate.js';
import { createWitnesses } from '../../generator/witnesses.js';
import { folderHashes, oracleWitness } from '../helpers/oracle-witness.js';

/** A few cases that between them use every family, all three dtypes and the special variants. */
const SUBSET = ['basic-3x3-valid-batch1', 'groups-stride-dilation', 'tail-several-rows', 'same-lower-odd-kernel', 'output-1x1'];

t.test('regenerating a subset reproduces the committed fixtures byte for byte', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'reproduce-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const witnesses = await createWitnesses();
  t.teardown(() => Promise.all(witnesses.map((witness) => witness.dispose())));
  const summary = await generateCorpus({ outDir: join(out, 'corpus'), cases: SUBSET, witnesses });
  const ids = (await readdir(join(out, 'corpus'), { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  t.equal(ids.length, summary.fixtures, 'one folder per fixture');
  // basic-3x3-valid-batch1 has every family incl. 4 special variants and f16/bf16/f64 precisions.
  t.ok(
    ['-f16', '-bf16', '-f64'].every((suffix) => ids.some((id) => id.endsWith(suffix))) && ids.some((id) => id.includes('special-inf-x')),
    'subset spans dtypes and special variants',
  );
  for (const id of ids) {
    const fresh = await folderHashes(join(out, 'corpus', id));
    const committed = await folderHashes(join(bundledCorpusDir(), id));
    t.same(fresh, committed, `${id}: identical files`);
  }
});

t.test('a witness that contradicts the oracle stops generation and leaves the old corpus untouched', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'refuse-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const corpus = join(out, 'corpus');
  const witnesses = [oracleWitness('onnxruntime-fake', 0), oracleWitness('tfjs-fake', 0)];
  await generateCorpus({ outDir: corpus, cases: ['output-1x1'], families: ['normal'], witnesses });
  const before = await folderHashes(corpus);

  // 1e-3 is far above the float64 bound of these O(1) sums (~1e-14), so the witness must be refused.
  const liar = [oracleWitness('onnxruntime-fake', 0), oracleWitness('tfjs-fake', 1e-3)];
  const error = await generateCorpus({ outDir: corpus, cases: ['output-1x1'], families: ['normal'], witnesses: liar, allowVersionReuse: true }).then(
    () => null,
    (caught: unknown) => caught,
  );
  t.ok(isConformanceError(error, 'E_WITNESS_DISAGREES'), 'refused with E_WITNESS_DISAGREES');
  const message = (error as Error).message;
  t.match(message, /fixture output-1x1-normal-(bf16|f16|f32|f64):/, 'names the fixture');
  t.match(message, /witness tfjs-fake/, 'names the witness');
  t.match(message, /on dw \[3, 2, 3, 4\]/, 'names the output and the element (the last dw element of a [4, 3, 4, 5] filter)');
  t.match(message, /expected -?\d.*got -?\d.*bound \d/, 'gives expected, got and bound');
  t.same(await folderHashes(corpus), before, 'previous corpus unchanged');
  const leftovers = (await readdir(out)).filter((name) => name !== 'corpus');
  t.same(leftovers, [], 'no temporary folder left behind');
});

t.test('both backends are required, and a changed corpus needs a new version', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'guard-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const corpus = join(out, 'corpus');
  const missing = await generateCorpus({ outDir: corpus, cases: ['output-1x1'], witnesses: [oracleWitness('onnxruntime-fake', 0)] }).catch((error: unknown) => error);
  t.match((missing as Error).message, /missing: tensorflow\.js/, 'a corpus without the TF.js witness is refused');

  const witnesses = [oracleWitness('onnxruntime-fake', 0), oracleWitness('tfjs-fake', 0)];
  await generateCorpus({ outDir: corpus, cases: ['output-1x1'], families: ['normal'], witnesses });
  const changed = await generateCorpus({ outDir: corpus, cases: ['output-1x1'], families: ['normal', 'exact'], witnesses }).catch((error: unknown) => error);
  // output-1x1 has allPrecisions: adding the exact family adds it in float32, float64, float16 and bfloat16.
  t.match((changed as Error).message, /corpus content changed \(4 added, 0 removed, 0 changed.*bump CORPUS_VERSION/, 'same version, new content: refused');
  const again = await generateCorpus({ outDir: corpus, cases: ['output-1x1'], families: ['normal'], witnesses });
  t.same(again.changes, { previousVersion: CORPUS_VERSION, added: [], removed: [], changed: [] }, 'same content again: accepted, no changes');
});
