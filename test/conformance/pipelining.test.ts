/**
 * A module adapter's process gets the next fixtures while it computes one
 * (ModuleHost queues up to maxInFlight requests), yet the adapter sees one call
 * at a time, in the order of the fixture ids, and a misbehaving fixture in the
 * middle of a queue still affects only itself (see also isolation.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { MODULE_HOST_MAX_IN_FLIGHT } from '../../conformance/host/module-host.js';
import { runConformance } from '../../conformance/run.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));

t.test('requests are queued to the process, the adapter still gets one call at a time, in id order', async (t) => {
  t.ok(MODULE_HOST_MAX_IN_FLIGHT > 1, 'the host does queue requests (otherwise this test shows nothing)');
  const log = join(root, 'calls.log');
  const previous = process.env.CALL_LOG;
  process.env.CALL_LOG = log; // the adapter's process inherits the environment
  t.teardown(() => {
    if (previous === undefined) delete process.env.CALL_LOG;
    else process.env.CALL_LOG = previous;
  });
  const result = await runConformance({ impl: adapterPath('serial-async.mjs'), fixturesDir: corpus.dir });
  const ran = result.outcomes.filter((outcome) => outcome.status !== 'skipped');
  t.same(
    ran.map((outcome) => `${outcome.id}:${outcome.status}`),
    ran.map((outcome) => `${outcome.id}:pass`),
    'no call started while another was in progress (the adapter throws if one does)',
  );
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  t.same(calls, ran.map((outcome) => outcome.id), 'the calls came in fixture id order');
});
