/**
 * `cmd:` adapters with a real python3 process (test/conformance/python-test-adapter.py,
 * standard library only) and `replay:` folders. python3 is required: these tests
 * do not skip.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { fromFloat64Array } from '../../src/dtype.js';
import { loadFixture } from '../../src/fixture-io.js';
import { writeNpy } from '../../src/npy.js';
import { PYTHON, pythonSkipReason } from '../helpers/python.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { hasOutcomeLine, PYTHON_ADAPTER, readReport, REPO_ROOT, runCli } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
const python = (options = '') => `cmd:${PYTHON} ${PYTHON_ADAPTER}${options === '' ? '' : ` ${options}`}`;
const lastLine = (text: string) => text.trimEnd().split('\n').pop();

t.test('cmd: a correct Python adapter passes every fixture, float16 included, in each layout', async (t) => {
  for (const options of ['', '--layout NHWC --filter-layout HWIO', '--filter-layout OHWI']) {
    const run = await runCli(['--impl', python(options), '--fixtures', corpus.dir]);
    t.equal(run.code, 0, options);
    t.equal(lastLine(run.stdout), '7 passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)', options);
  }
});

t.test('the README example (numpy) passes every fixture', { skip: pythonSkipReason(['numpy']) }, async (t) => {
  const run = await runCli(['--impl', `cmd:${PYTHON} ${join(REPO_ROOT, 'conformance', 'examples', 'python-adapter.py')}`, '--fixtures', corpus.dir]);
  t.equal(run.code, 0);
  t.equal(lastLine(run.stdout), '7 passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');
});

t.test('cmd: non-JSON and unrelated JSON lines on stdout are ignored (forwarded with --verbose)', async (t) => {
  const quiet = await runCli(['--impl', python('--noise'), '--fixtures', corpus.dir, '--only', 'plain-normal-f32']);
  t.equal(quiet.code, 0);
  t.notMatch(quiet.stderr, /computing plain-normal-f32/);
  const verbose = await runCli(['--impl', python('--noise'), '--fixtures', corpus.dir, '--only', 'plain-normal-f32', '--verbose']);
  t.equal(verbose.code, 0);
  t.match(verbose.stderr, /python adapter starting up \(not JSON\)/);
  t.match(verbose.stderr, /computing plain-normal-f32/);
  t.match(verbose.stderr, /\{"id": "not-plain-normal-f32", "ok": true\}/);
  t.match(verbose.stderr, /stderr noise for plain-normal-f32/);
});

t.test('cmd: crash, refusal, hang and wrong values are reported per fixture and the process is restarted', async (t) => {
  const jsonPath = join(root, 'cmd-report.json');
  const run = await runCli([
    '--impl',
    python('--crash-on plain-normal-f32 --fail-on grouped-normal --hang-on strided --wrong-on dilated'),
    '--fixtures',
    corpus.dir,
    '--timeout',
    '4000',
    '--json',
    jsonPath,
  ]);
  t.equal(run.code, 1);
  const byId = new Map(readReport(jsonPath).outcomes.map((outcome) => [outcome.id, outcome]));
  t.equal(byId.get('plain-normal-f32')?.status, 'error');
  t.equal(byId.get('plain-normal-f32')?.message, 'the adapter program exited with code 3 while computing fixture plain-normal-f32');
  t.match(byId.get('plain-normal-f32')?.detail, /adapter stderr:\ncrashing on plain-normal-f32/);
  t.equal(byId.get('grouped-normal-f64')?.message, 'the adapter reported an error: cannot compute grouped-normal-f64');
  t.equal(byId.get('strided-asym-normal-f32')?.status, 'timeout');
  t.equal(byId.get('dilated-exact-f32')?.status, 'fail');
  t.same(byId.get('dilated-exact-f32')?.failing, ['dw']);
  t.equal(byId.get('wide-grouped-dilated-f32')?.status, 'fail', 'wrong-on matches "dilated" here too');
  t.equal(byId.get('plain-exact-f64')?.status, 'pass');
  t.equal(byId.get('plain-normal-f16')?.status, 'pass', 'the fixtures between and after the crash and the hang ran on fresh processes');
  t.equal(lastLine(run.stdout), '2 passed, 2 failed, 0 skipped, 3 errors (2 errors, 1 timeout, 0 missing)');
});

t.test('cmd: a bad handshake or a program that dies first is a load error (exit 2)', async (t) => {
  const protocol = await runCli(['--impl', python('--protocol other/9'), '--fixtures', corpus.dir]);
  t.equal(protocol.code, 2);
  t.ok(
    protocol.stderr.includes('handshake "protocol": expected "conv2d-backward-conformance/1" or "conv2d-backward-conformance/1.1" or "conv2d-backward-conformance/1.2", found "other/9"'),
    protocol.stderr,
  );
  const outputs = await runCli(['--impl', python('--outputs dx,dz'), '--fixtures', corpus.dir]);
  t.equal(outputs.code, 2);
  t.match(outputs.stderr, /outputs\[1\]: unknown name "dz"; expected one of dx, dw, db/);
  const dies = await runCli(['--impl', `cmd:python3 -c "import sys; sys.stderr.write('no GPU here\\n'); sys.exit(4)"`, '--fixtures', corpus.dir]);
  t.equal(dies.code, 2);
  t.match(dies.stderr, /the program exited with code 4 before writing its handshake line\nadapter stderr:\nno GPU here/);
});

/** Write the expected gradients of each fixture, rounded to its dtype, as replayed outputs (NCHW / OIHW). */
async function writeReplay(dir: string, skip: { id: string; output: string } | null): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'adapter.json'), JSON.stringify({ name: 'replayed-oracle', dtypes: ['float16', 'float32', 'float64'] }));
  for (const id of corpus.ids) {
    const fixture = await loadFixture(join(corpus.dir, id));
    await mkdir(join(dir, id));
    for (const output of ['dx', 'dw', 'db'] as const) {
      if (skip !== null && skip.id === id && skip.output === output) continue;
      const tensor = fixture[output];
      await writeFile(join(dir, id, `${output}.npy`), writeNpy({ dtype: fixture.meta.dtype, shape: tensor.shape, data: fromFloat64Array(tensor.data, fixture.meta.dtype) }));
    }
  }
}

t.test('replay: saved outputs are scored; a fixture without its outputs is missing, never passed', async (t) => {
  const complete = join(root, 'replay-complete');
  await writeReplay(complete, null);
  const good = await runCli(['--impl', `replay:${complete}`, '--fixtures', corpus.dir]);
  t.equal(good.code, 0);
  t.equal(lastLine(good.stdout), '7 passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');

  const partial = join(root, 'replay-partial');
  await writeReplay(partial, { id: 'grouped-normal-f64', output: 'dw' });
  const run = await runCli(['--impl', `replay:${partial}`, '--fixtures', corpus.dir]);
  t.equal(run.code, 1);
  t.ok(hasOutcomeLine(run.stdout, 'MISSING', 'grouped-normal-f64', `no replayed output dw.npy in ${join(partial, 'grouped-normal-f64')}`));
  t.equal(lastLine(run.stdout), '6 passed, 0 failed, 0 skipped, 1 error (0 errors, 0 timeouts, 1 missing)');

  const noCapabilities = await runCli(['--impl', `replay:${join(root, 'nowhere')}`, '--fixtures', corpus.dir]);
  t.equal(noCapabilities.code, 2);
  t.match(noCapabilities.stderr, /replay adapter: cannot read .*nowhere\/adapter\.json \(file not found\)/);
});
