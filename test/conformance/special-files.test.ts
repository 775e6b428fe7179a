/**
 * Files are opened as what they claim to be, in the runner (corpus and replay files)
 * and in `conv2d-fixtures verify`, with the same words: a symbolic link is never
 * followed, a FIFO never waited on, a folder never read as a file. A replayed output
 * that numpy saved in Fortran order is converted and scored.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fromFloat64Array } from '../../src/dtype.js';
import { loadFixture } from '../../src/fixture-io.js';
import { writeNpy } from '../../src/npy.js';
import { COMMAND_PROTOCOL_1_1 } from '../../conformance/host/command-host.js';
import { PYTHON, pythonSkipReason } from '../helpers/python.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { PYTHON_ADAPTER, readReport, REPO_ROOT, runCli, type CliRun } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
const [first, second] = corpus.ids;
const FIXTURES_COMMAND = join(REPO_ROOT, 'dist', 'cli', 'bin', 'conv2d-fixtures.js');

function runVerify(dir: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [FIXTURES_COMMAND, 'verify', dir], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr } as CliRun);
    });
  });
}

t.test('corpus: a symbolic link, a FIFO and a folder stop the runner and fail verify, in the same words', async (t) => {
  const dir = join(root, 'special-corpus');
  cpSync(corpus.dir, dir, { recursive: true });
  // A link to a copy of the right bytes: the content would pass, the link itself must not.
  copyFileSync(join(dir, first, 'dx.npy'), join(root, 'dx-copy.npy'));
  rmSync(join(dir, first, 'dx.npy'));
  symlinkSync(join(root, 'dx-copy.npy'), join(dir, first, 'dx.npy'));
  rmSync(join(dir, first, 'w.npy'));
  execFileSync('mkfifo', [join(dir, first, 'w.npy')]);
  rmSync(join(dir, second, 'db.npy'));
  mkdirSync(join(dir, second, 'db.npy'));
  const lines = [
    `  ${first}/dx.npy: expected a regular file, found a symbolic link`,
    `  ${first}/w.npy: expected a regular file, found a FIFO`,
    `  ${second}/db.npy: expected a regular file, found a folder`,
  ];

  const run = await runCli(['--impl', 'replay:/nonexistent', '--fixtures', dir]);
  t.equal(run.code, 2, 'a corpus problem is exit 2');
  t.match(run.stderr, `corpus ${dir} failed verification (3 problems):\n${[...lines].sort().join('\n')}`);

  const verify = await runVerify(dir);
  t.equal(verify.code, 1);
  for (const line of lines) t.ok(verify.stdout.includes(`${line}\n`), `verify says: ${line.trim()}`);
  t.match(verify.stdout, `FAILED ${dir}: 3 problems\n`);
});

/** The expected gradients of each fixture, rounded to its dtype, as replayed outputs. */
async function fillReplay(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter.json'), JSON.stringify({ name: 'replayed-oracle', dtypes: ['float16', 'float32', 'float64'] }));
  for (const id of corpus.ids) {
    const fixture = await loadFixture(join(corpus.dir, id));
    mkdirSync(join(dir, id));
    for (const output of ['dx', 'dw', 'db'] as const) {
      const tensor = fixture[output];
      writeFileSync(join(dir, id, `${output}.npy`), writeNpy({ dtype: fixture.meta.dtype, shape: tensor.shape, data: fromFloat64Array(tensor.data, fixture.meta.dtype) }));
    }
  }
}

t.test('replay: a FIFO or a symbolic link as an output is an error for that fixture, without a hang', async (t) => {
  const dir = join(root, 'replay-special');
  await fillReplay(dir);
  rmSync(join(dir, first, 'dx.npy'));
  execFileSync('mkfifo', [join(dir, first, 'dx.npy')]);
  copyFileSync(join(dir, second, 'dw.npy'), join(root, 'dw-copy.npy'));
  rmSync(join(dir, second, 'dw.npy'));
  symlinkSync(join(root, 'dw-copy.npy'), join(dir, second, 'dw.npy'));
  const jsonPath = join(root, 'replay-special.json');
  const run = await runCli(['--impl', `replay:${dir}`, '--fixtures', corpus.dir, '--json', jsonPath]);
  t.equal(run.code, 1);
  const byId = new Map(readReport(jsonPath).outcomes.map((outcome) => [outcome.id, outcome]));
  t.equal(byId.get(first)?.status, 'error');
  t.equal(byId.get(first)?.message, `${join(dir, first, 'dx.npy')}: expected a .npy file, found a FIFO`);
  t.equal(byId.get(second)?.status, 'error');
  t.equal(byId.get(second)?.message, `${join(dir, second, 'dw.npy')}: expected a .npy file, found a symbolic link`);
  t.equal(readReport(jsonPath).counts.pass, corpus.ids.length - 2, 'every other fixture passes');
});

t.test('replay: outputs numpy saved in Fortran order or big-endian are converted and pass', { skip: pythonSkipReason(['numpy']) }, async (t) => {
  const dir = join(root, 'replay-fortran');
  await fillReplay(dir);
  // Rewrite every output: dx of the first half as np.asfortranarray, the others big-endian and transposed twice (a Fortran-order view).
  const script = [
    'import sys, os, numpy as np',
    'folder = sys.argv[1]',
    'for index, id in enumerate(sorted(os.listdir(folder))):',
    '    if id == "adapter.json": continue',
    '    for output in ["dx", "dw", "db"]:',
    '        path = f"{folder}/{id}/{output}.npy"',
    '        a = np.load(path)',
    '        converted = np.asfortranarray(a) if index % 2 == 0 else a.astype(a.dtype.newbyteorder(">")).T.copy().T',
    '        np.save(path, converted)',
    '        with open(path, "rb") as f: header = f.read(128)',
    '        if a.ndim > 1: assert b"True" in header, (path, header)',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', script, dir], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
  const run = await runCli(['--impl', `replay:${dir}`, '--fixtures', corpus.dir]);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, `${corpus.ids.length} passed, 0 failed, 0 skipped, 0 errors`);
});

t.test('cmd: a program that answers one fixture "unsupported" and saves its outputs in Fortran order gets a skip with its reason and passes', { skip: pythonSkipReason(['numpy']) }, async (t) => {
  // The test adapter, with its writer replaced by np.save of np.asfortranarray (fortran_order True for 2-D and up),
  // speaking protocol 1.1 and answering the strided fixture {"id", "unsupported": reason}.
  const program = join(root, 'fortran-adapter.py');
  writeFileSync(
    program,
    [
      'import importlib.util, sys, numpy as np',
      `spec = importlib.util.spec_from_file_location("adapter", ${JSON.stringify(PYTHON_ADAPTER)})`,
      'adapter = importlib.util.module_from_spec(spec)',
      'spec.loader.exec_module(adapter)',
      'def write_fortran(path, descr, shape, values):',
      '    array = np.asfortranarray(np.array(values, dtype=descr).reshape(shape))',
      '    assert array.ndim == 1 or not array.flags.c_contiguous',
      '    with open(path, "wb") as handle:',
      '        np.save(handle, array)',
      'adapter.write_npy = write_fortran',
      'adapter.main()',
    ].join('\n'),
  );
  const jsonPath = join(root, 'fortran-report.json');
  const run = await runCli(['--impl', `cmd:${PYTHON} ${program} --protocol ${COMMAND_PROTOCOL_1_1} --unsupported-on strided`, '--fixtures', corpus.dir, '--json', jsonPath]);
  t.equal(run.code, 0, run.stdout + run.stderr);
  const outcomes = readReport(jsonPath).outcomes;
  const skipped = outcomes.filter((outcome) => outcome.status === 'skipped');
  t.same(
    skipped.map((outcome) => [outcome.id, outcome.reason]),
    [['strided-asym-normal-f32', 'unsupported: one stride for both axes only']],
    'the fixture answered "unsupported" is a skip with its reason',
  );
  t.equal(outcomes.filter((outcome) => outcome.status === 'pass').length, corpus.ids.length - 1, 'every other fixture, each saved in Fortran order, passes');
  t.match(run.stdout, `${corpus.ids.length - 1} passed, 0 failed, 1 skipped, 0 errors`);
});
