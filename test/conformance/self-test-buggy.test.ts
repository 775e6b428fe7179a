/**
 * The self-test's buggy implementations against the corpus (see self-test.test.ts
 * for the correct ones and the subset): each must fail on a fixture's numbers, not
 * by crashing, through the real runner.
 */
import t from 'tap';
import { likelyCauses } from '../../conformance/diagnosis/rank.js';
import { CATALOG } from '../../conformance/self-test/catalog.js';
import { formatMatrix, runCatalog } from '../../conformance/self-test/self-test.js';
import { SLOW_MACHINE_TIMEOUT_MS, corpusDir } from '../helpers/self-test-corpus.js';

/** The subset the buggy entries run on (see the file comment). */
const BUGGY_SUBSET = 'family=normal|special,tag!=realistic';

t.test('every buggy implementation fails, on the numbers, on the normal and special families', async (t) => {
  const fixturesDir = await corpusDir(() => t.testdir());
  const reports = await runCatalog(
    CATALOG.filter((entry) => entry.expected === 'fail'),
    { fixturesDir, filter: BUGGY_SUBSET, concurrency: 2, timeoutMs: SLOW_MACHINE_TIMEOUT_MS },
  );
  for (const report of reports) {
    const { entry } = report;
    const outcomes = report.result?.outcomes ?? [];
    const numeric = outcomes.filter((item) => item.status === 'fail');
    const crashes = outcomes.filter((item) => item.status === 'error' || item.status === 'timeout');
    t.equal(report.actual, 'fail', `${entry.name} fails (${entry.description})`, { problem: report.problem, needs: entry.caughtBy });
    // Caught by the comparison itself, not only because the implementation crashed.
    t.ok(numeric.length > 0, `${entry.name}: ${numeric.length} fixtures fail the comparison`, { crashes: crashes.slice(0, 3) });
    // The same run names the bug: the catalog's cause comes first.
    const causes = likelyCauses(outcomes);
    t.equal(causes[0]?.cause, entry.cause, `${entry.name}: likely cause ${entry.cause} ranked first`, {
      ranked: causes.map((cause) => `${cause.cause} ${cause.score.toFixed(3)}`),
    });
  }
  t.comment(formatMatrix(reports));
});
