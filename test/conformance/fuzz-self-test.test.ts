/**
 * The self-test catalog under --fuzz: every buggy implementation (the corpus's
 * and the three whose bug only shapes beyond the corpus show) is found by
 * `--fuzz 300 --seed 1`, and its failure shrinks; the three new ones' minimal
 * failures, saved with --save-failures, replay as failures with --fixtures
 * (through the real module host). Correct implementations and the bundled naive
 * adapter pass fuzz cases.
 *
 * Time: the fuzz runs use an in-process host (test/helpers/in-process-host.ts):
 * 25 buggy entries each stop at their first failure (--max-failures 1) and most
 * fail within the first few cases, so the whole file takes well under a minute.
 * The correct implementations run 50 cases each here; the full `--fuzz 1000`
 * of every correct implementation and bundled adapter is `npm run bench -- fuzz-correct`
 * (bench/measure-fuzz.ts), which takes minutes.
 * The three fuzz-only bugs pass the whole corpus: self-test.test.ts runs every
 * entry expected to pass the corpus, and they are among them (expected 'pass', fuzzOnly).
 */
import t from 'tap';
import { runFuzz } from '../../conformance/fuzz/run-fuzz.js';
import { runConformance } from '../../conformance/run.js';
import { CATALOG, catalogModulePath, type CatalogEntry } from '../../conformance/self-test/catalog.js';
import { InProcessHost } from '../helpers/in-process-host.js';

const FUZZ_SEED = 1;
const FUZZ_CASES = 300;

async function fuzzEntry(entry: CatalogEntry, cases: number, extra: { saveFailures?: string; maxFailures?: number } = {}) {
  const path = catalogModulePath(entry);
  return runFuzz(
    { impl: path, ...(extra.maxFailures !== undefined ? { maxFailures: extra.maxFailures } : {}) },
    { cases, seed: FUZZ_SEED, host: new InProcessHost(path), ...(extra.saveFailures !== undefined ? { saveFailures: extra.saveFailures } : {}) },
  );
}

const buggy = CATALOG.filter((entry) => entry.expected === 'fail' || entry.fuzzOnly === true);
const fuzzOnly = CATALOG.filter((entry) => entry.fuzzOnly === true);
const correct = CATALOG.filter((entry) => entry.expected === 'pass' && entry.fuzzOnly !== true && !['tfjs', 'onnxruntime'].includes(entry.name));

t.test('the catalog has at least three buggy entries only fuzzing finds', async (t) => {
  t.ok(fuzzOnly.length >= 3, `${fuzzOnly.map((entry) => entry.name).join(', ')}`);
});

t.test(`every buggy implementation is found by --fuzz ${FUZZ_CASES} --seed ${FUZZ_SEED}, and its failure shrinks`, async (t) => {
  const sizes: string[] = [];
  for (const entry of buggy) {
    const result = await fuzzEntry(entry, FUZZ_CASES, { maxFailures: 1 });
    const failure = result.fuzz.failures[0];
    t.ok(failure !== undefined, `${entry.name}: found (${result.fuzz.cases} cases run)`);
    if (failure === undefined) continue;
    t.ok(failure.shrunk !== null, `${entry.name}: shrunk`);
    if (failure.shrunk !== null) {
      t.ok(failure.shrunk.macs <= failure.macs, `${entry.name}: the shrunk case costs no more than the drawn one (${failure.macs} -> ${failure.shrunk.macs} MACs)`);
      sizes.push(`${entry.name}: case ${failure.id}, ${failure.macs} -> ${failure.shrunk.macs} MACs: ${failure.shrunk.case}`);
    }
  }
  t.comment(sizes.join('\n'));
});

t.test('the fuzz-only bugs: the minimal failure is saved and replays as a failure with --fixtures', async (t) => {
  for (const entry of fuzzOnly) {
    const dir = t.testdir();
    const result = await fuzzEntry(entry, FUZZ_CASES, { maxFailures: 1, saveFailures: dir });
    const failure = result.fuzz.failures[0];
    t.ok(failure?.saved, `${entry.name}: saved ${failure?.saved}`);
    const replay = await runConformance({ impl: catalogModulePath(entry), fixturesDir: dir });
    t.equal(replay.counts.fail + replay.counts.error, 1, `${entry.name}: the saved fixture fails again under the module host`);
    t.equal(replay.outcomes[0]?.id, failure?.shrunk?.id, `${entry.name}: it is the shrunk case`);
  }
});

t.test('correct implementations and the bundled naive adapter pass fuzz cases', async (t) => {
  // 50 cases each here (see the file comment for the full 1000).
  for (const entry of correct) {
    const result = await fuzzEntry(entry, 50);
    const failing = result.fuzz.failures.map((failure) => failure.shrunk?.case ?? failure.case);
    t.same(failing, [], `${entry.name}: no failure in ${result.fuzz.cases} cases (${result.counts.pass} passed, ${result.counts.skipped} skipped)`);
    t.ok(result.counts.pass > 0, `${entry.name}: some cases ran`);
  }
});
