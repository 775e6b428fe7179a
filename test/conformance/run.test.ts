/**
 * runConformance as a library: the result's shape, progress callbacks, --jobs
 * giving the same outcomes as one job, and shards that together make the whole run.
 */
import { join } from 'node:path';
import t from 'tap';
import { parseImpl, runConformance, type RunResult } from '../../conformance/run.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
const statuses = (result: RunResult) => result.outcomes.map((outcome) => `${outcome.id}:${outcome.status}`);

t.test('a run: sorted outcomes, counts, capabilities, corpus identity, progress', async (t) => {
  const progress: string[] = [];
  let started: number | undefined;
  const result = await runConformance({
    impl: adapterPath('good-nhwc-hwio.mjs'),
    fixturesDir: corpus.dir,
    onStart: ({ total }) => {
      started = total;
    },
    onOutcome: (outcome, { done, total }) => progress.push(`${done}/${total} ${outcome.id}`),
  });
  t.equal(started, 7);
  t.same(
    progress.map((line) => line.split(' ')[0]),
    ['1/7', '2/7', '3/7', '4/7', '5/7', '6/7', '7/7'],
  );
  t.same(
    result.outcomes.map((outcome) => outcome.id),
    corpus.ids,
    'outcomes sorted by id',
  );
  t.same(result.counts, { pass: 6, fail: 0, error: 0, timeout: 0, missing: 0, skipped: 1 });
  t.equal(result.capabilities.layout, 'NHWC');
  t.equal(result.capabilities.filterLayout, 'HWIO');
  t.equal(result.corpus.corpusVersion, '0.0.1-test');
  t.match(result.corpus.digest, /^[0-9a-f]{64}$/);
  t.equal(result.corpus.bundled, false);
  t.ok(result.adapterSeconds > 0, 'time inside the adapter is measured');
  t.ok(result.seconds >= result.adapterSeconds, 'the wall time includes the time inside the adapter');
  t.same(result.selection, { filter: null, only: null, shard: null, selected: 7, notSelected: 0 });
});

t.test('--jobs 2 gives the same outcomes as one job', async (t) => {
  const one = await runConformance({ impl: adapterPath('good-nchw.mjs'), fixturesDir: corpus.dir, filter: 'dtype!=float16' });
  const two = await runConformance({ impl: adapterPath('good-nchw.mjs'), fixturesDir: corpus.dir, filter: 'dtype!=float16', jobs: 2 });
  t.same(statuses(two), statuses(one));
  t.equal(two.jobs, 2);
});

t.test('shards 1/2 and 2/2 together are the whole run, without overlap', async (t) => {
  const shards = await Promise.all(
    [1, 2].map((index) => runConformance({ impl: `cmd:python3 ${join('test', 'conformance', 'python-test-adapter.py')}`, fixturesDir: corpus.dir, shard: { index, count: 2 } })),
  );
  const ids = shards.flatMap((result) => result.outcomes.map((outcome) => outcome.id)).sort();
  t.same(ids, corpus.ids);
  t.same(
    shards.map((result) => result.outcomes.length),
    [4, 3],
    '7 fixtures: positions 0, 2, 4, 6 and 1, 3, 5',
  );
});

t.test('usage errors throw E_USAGE before anything starts', async (t) => {
  await t.rejects(runConformance({ impl: adapterPath('good-nchw.mjs'), fixturesDir: corpus.dir, timeoutMs: 0 }), {
    code: 'E_USAGE',
    message: '--timeout: expected a positive integer (milliseconds per fixture), found 0',
  });
  await t.rejects(runConformance({ impl: adapterPath('good-nchw.mjs'), fixturesDir: corpus.dir, jobs: 1.5 }), { code: 'E_USAGE', message: /--jobs: .* found 1\.5/ });
  await t.rejects(runConformance({ impl: adapterPath('good-nchw.mjs'), fixturesDir: corpus.dir, shard: { index: 3, count: 2 } }), {
    code: 'E_USAGE',
    message: /--shard: expected I\/N/,
  });
  await t.rejects(runConformance({ impl: '  ', fixturesDir: corpus.dir }), { code: 'E_USAGE' });
  await t.rejects(runConformance({ impl: adapterPath('bad-layout.mjs'), fixturesDir: corpus.dir }), { code: 'E_ADAPTER_LOAD' });
});

t.test('parseImpl: module path, cmd:, replay:', async (t) => {
  t.same(parseImpl('cmd: python3 a.py --x'), { kind: 'command', command: 'python3 a.py --x' });
  t.match(parseImpl('replay:out'), { kind: 'replay', dir: /\/out$/ });
  t.match(parseImpl('./adapter.js'), { kind: 'module', path: /\/adapter\.js$/ });
});
