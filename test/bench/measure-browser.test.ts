/**
 * measureBrowser on a few fixtures: start-up is measured apart (its parts add up to at
 * most the whole), and the steady rate is the run's fixtures over its time without start-up.
 */
import t from 'tap';
import { measureBrowser } from '../../bench/measure-browser.js';
import { requireBrowser } from '../conformance/browser-support.js';

const browser = requireBrowser(t);

t.test('the WGSL adapter on the basic-3x3-pad1 fixtures', async (t) => {
  const measured = await measureBrowser({ browser, filter: 'case=basic-3x3-pad1' });
  t.ok(measured.impl.endsWith('wgsl-gather.js'));
  t.ok(measured.ran > 1, 'more than one fixture computed');
  t.equal(measured.counts.fail + measured.counts.error + measured.counts.timeout, 0, 'the adapter passes them');
  // The run's seconds minus its start-up are positive (fixtures took time), so the rate is finite.
  t.ok(Number.isFinite(measured.fixturesPerSecond) && measured.fixturesPerSecond > 0, `a finite positive rate, found ${measured.fixturesPerSecond}`);
  t.ok(measured.fixturesPerSecond >= measured.ran / measured.runSeconds, 'at least the rate with start-up counted');
  const { bundleSeconds, launchSeconds, pageSeconds } = measured.startup;
  t.ok(bundleSeconds > 0 && launchSeconds > 0 && pageSeconds > 0, 'each part of the start-up took time');
  t.ok(bundleSeconds + launchSeconds <= measured.startupSeconds, 'the parts that run one after the other fit in the whole start-up');
  t.ok(measured.adapterSeconds <= measured.runSeconds, 'time inside the adapter is part of the run');
});
