/**
 * The benchmark's runner measurement on the small corpus: it runs the built CLI
 * in a child process, reads the report's own seconds, and gets each process's
 * peak RSS through the preloaded probe (bench/rss-probe.ts), the adapter's
 * process included. Also the median and the target checks. No timing is
 * asserted, only how the numbers relate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { measureRunner, median } from '../../bench/measure-runner.js';
import { checkTarget } from '../../bench/report.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath } from '../conformance/run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));

t.test('measureRunner: the report numbers, fixtures per second, and both processes peak RSS', async (t) => {
  const measured = await measureRunner({ impl: adapterPath('good-nchw.mjs'), fixturesDir: corpus.dir, workDir: root, label: 'small' });
  const report = JSON.parse(readFileSync(join(root, 'small-report.json'), 'utf8')) as { seconds: number; adapterSeconds: number; counts: { pass: number; skipped: number } };
  t.equal(measured.exitCode, 0);
  t.equal(measured.selected, corpus.ids.length);
  // good-nchw.mjs declares float32 and float64: the float16 fixtures are skipped, the others run.
  t.equal(measured.ran, corpus.ids.length - report.counts.skipped);
  t.equal(measured.counts.pass, measured.ran);
  t.equal(measured.seconds, report.seconds, "seconds is the report's own");
  t.equal(measured.adapterSeconds, report.adapterSeconds);
  t.equal(measured.overheadRatio, report.seconds / report.adapterSeconds);
  t.equal(measured.fixturesPerSecond, measured.ran / measured.seconds);
  t.ok(measured.wallSeconds >= measured.seconds, 'the process lives at least as long as the run it reports');
  t.ok(measured.peakRssMB > 0, `the runner reported its peak RSS (${measured.peakRssMB.toFixed(0)} MB)`);
  t.ok(measured.adapterPeakRssMB !== null && measured.adapterPeakRssMB > 0, 'the adapter process, started by fork, inherited the probe and reported too');
  const manifest = JSON.parse(readFileSync(join(corpus.dir, 'manifest.json'), 'utf8')) as { digest: string };
  t.equal(measured.corpusDigest, manifest.digest);
});

t.test('median and target checks', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5, 'the mean of the middle two');
  t.ok(Number.isNaN(median([])));
  t.equal(checkTarget('x', 1.29, 1.3, 'x').met, true);
  t.equal(checkTarget('x', 1.3, 1.3, 'x').met, false, 'the value must be strictly below');
  t.equal(checkTarget('x', Infinity, 1.3, 'x').met, false, 'an infinite ratio (no adapter time) is not met');
  t.equal(checkTarget('x', NaN, 1.3, 'x').met, false);
});
