/**
 * --json and --junit refuse to write inside the corpus they score (one check,
 * conformance/reports/destination.ts, that every report writer calls): a report
 * named manifest.json in the corpus, a file in a fixture folder, a path through a
 * symbolic link into the corpus. The corpus stays byte for byte as it was.
 */
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkReportDestination } from '../../conformance/reports/destination.js';
import { writeJsonReport } from '../../conformance/reports/json.js';
import { writeJunitReport } from '../../conformance/reports/junit.js';
import type { RunResult } from '../../conformance/run.js';
import { copySubsetCorpus, treeDigest, type SubsetCorpus } from '../helpers/corpus-subset.js';

let root = '';
let corpus: SubsetCorpus;
t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'report-destination-'));
  corpus = await copySubsetCorpus(join(root, 'corpus'));
});
t.teardown(() => rm(root, { recursive: true, force: true }));

function resultFor(dir: string): RunResult {
  return {
    impl: './adapter.js',
    capabilities: { name: 'test', layout: 'NCHW', filterLayout: 'OIHW', dtypes: ['float32'], supports: 'function', outputs: ['dx', 'dw', 'db'] },
    corpus: { dir, bundled: false, corpusVersion: corpus.manifest.corpusVersion, digest: corpus.manifest.digest, fixtureCount: corpus.ids.length },
    selection: { filter: null, only: null, shard: null, selected: 0, notSelected: 0 },
    timeoutMs: 1000,
    jobs: 1,
    outcomes: [],
    counts: { pass: 0, fail: 0, error: 0, timeout: 0, missing: 0, skipped: 0 },
    seconds: 0,
    adapterSeconds: 0,
    details: {},
    stopped: null,
    determinism: null,
    loadTimeoutMs: 300000,
    startupSeconds: 0,
  };
}

t.test('a report inside the corpus is refused with E_USAGE, the corpus unchanged', async (t) => {
  const before = await treeDigest(corpus.dir);
  const link = join(root, 'link-to-corpus');
  await symlink(corpus.dir, link);
  const result = resultFor(corpus.dir);
  const cases: [string, (path: string, result: RunResult) => Promise<void>, string][] = [
    ['--json', writeJsonReport, join(corpus.dir, 'manifest.json')],
    ['--json', writeJsonReport, join(corpus.dir, corpus.ids[0], 'report.json')],
    ['--junit', writeJunitReport, join(corpus.dir, 'junit.xml')],
    ['--junit', writeJunitReport, join(link, 'new-folder', 'junit.xml')],
    ['--json', writeJsonReport, corpus.dir],
  ];
  for (const [option, write, path] of cases) {
    await t.rejects(write(path, result), {
      code: 'E_USAGE',
      message: `${option} ${path}: refusing to write a report inside the corpus folder ${corpus.dir} (it would change the corpus); write it elsewhere`,
    });
  }
  // The corpus given through the link is the same folder.
  t.throws(() => checkReportDestination(join(corpus.dir, 'r.json'), link, '--json'), { code: 'E_USAGE' });
  t.equal(await treeDigest(corpus.dir), before, 'corpus unchanged');

  // Beside the corpus (a sibling whose name starts the same) is fine.
  const beside = join(root, 'corpus-report.json');
  await writeJsonReport(beside, result);
  t.match(JSON.parse(await readFile(beside, 'utf8')), { corpus: { dir: corpus.dir } });
});
