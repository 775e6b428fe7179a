/**
 * The numpy FFT example (conformance/examples/numpy-fft-adapter.py, numpy.fft through `cmd:`),
 * declared `precision: { algorithm: 'fft' }`, against the whole float32 corpus through the real
 * runner: it passes every fixture under the FFT class's normwise bound, and the same program
 * with its padding bug (--pad-bug) fails the padded fixtures and only those.
 * Skipped only when $PYTHON (or python3) has no numpy; under CI that is a failure (.ci/run
 * installs python3-numpy).
 */
import { join } from 'node:path';
import t from 'tap';
import { loadManifest } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';
import { PYTHON, pythonSkipReason } from '../helpers/python.js';
import { readReport, REPO_ROOT, runCli } from './run-cli.js';

const EXAMPLE = join(REPO_ROOT, 'conformance', 'examples', 'numpy-fft-adapter.py');
const skip = pythonSkipReason(['numpy']);
const lastLine = (text: string) => text.trimEnd().split('\n').pop();

t.test('numpy FFT declared fft passes the whole float32 corpus; with a pad bug it fails every padded fixture it gets wrong, and only padded ones', { skip }, async (t) => {
  const manifest = await loadManifest(bundledCorpusDir());
  const float32 = manifest.fixtures.filter((entry) => entry.dtype === 'float32');
  const dir = t.testdir();
  const json = join(dir, 'report.json');
  // Per-fixture limit well above the ~0.1 s a fixture takes, for a loaded machine.
  const run = await runCli(['--impl', `cmd:${PYTHON} ${EXAMPLE}`, '--filter', 'dtype=float32', '--json', json, '--timeout', '120000']);
  t.equal(run.code, 0, run.stderr);
  t.equal(lastLine(run.stdout), `${float32.length} passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)`);
  const report = readReport(json);
  t.ok(report.outcomes.every((outcome) => outcome.precision?.algorithm === 'fft'), 'every outcome records the fft class');
  // Not bit-exact: FFT round-off on the exact family is judged by the class's bound, not the exact rule.
  t.ok(
    report.outcomes.some((outcome) => outcome.family === 'exact' && outcome.status === 'pass' && outcome.grade !== 'exact'),
    'some exact fixture passes by the bound, not bit for bit',
  );

  const buggyJson = join(dir, 'buggy.json');
  const buggy = await runCli(['--impl', `cmd:${PYTHON} ${EXAMPLE} --pad-bug`, '--filter', 'dtype=float32', '--json', buggyJson, '--timeout', '120000']);
  t.equal(buggy.code, 1, 'the pad bug fails the run');
  const failing = readReport(buggyJson).outcomes.filter((outcome) => outcome.status === 'fail');
  const padded = float32.filter((entry) => entry.tags.includes('padded') && entry.family !== 'zeros');
  t.ok(failing.length > 0, `${failing.length} fixtures fail`);
  t.same(failing.filter((outcome) => !outcome.tags.includes('padded')).map((outcome) => outcome.id), [], 'every failing fixture is padded');
  // Most padded fixtures catch it (208 of 226 measured); one with only bottom/right pads cannot, the bug shifts by the top/left pads.
  t.ok(failing.length >= padded.length / 2, `${failing.length} of ${padded.length} padded fixtures with data fail`);
});
