/**
 * The runner reads each fixture.json once, when it verifies the corpus, and keeps
 * that metadata: nothing reads it again when the fixture's turn comes. Shown by
 * removing every fixture.json once the run has started (onStart: after the corpus
 * was verified, before the first fixture): every fixture still runs and passes.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runConformance } from '../../conformance/run.js';
import { FIXTURE_META_FILE } from '../../src/fixture-io.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));

t.test('each fixture.json is read once: removing them after verification changes nothing', async (t) => {
  const copy = join(root, 'copy');
  cpSync(corpus.dir, copy, { recursive: true });
  const result = await runConformance({
    impl: adapterPath('good-nchw.mjs'),
    fixturesDir: copy,
    onStart: () => {
      for (const id of corpus.ids) rmSync(join(copy, id, FIXTURE_META_FILE));
    },
  });
  t.equal(result.selection.selected, corpus.ids.length);
  t.equal(result.counts.error, 0, 'no fixture needed its fixture.json again');
  // good-nchw.mjs declares float32 and float64: the float16 fixtures are skipped, the others pass.
  t.equal(result.counts.pass + result.counts.skipped, corpus.ids.length);
  t.ok(result.counts.pass > 0);
});
