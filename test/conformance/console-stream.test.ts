/**
 * The console report as a user's CI sees it (built CLI, stdout not a TTY):
 * streamed (the header and the first FAIL line reach a file before the run
 * ends), grouped (a systematic error over the whole corpus stays short), and
 * --bail / --max-failures stop the run with exit 1.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath, CLI, REPO_ROOT, runCli } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));

async function waitUntil(condition: () => Promise<boolean>, what: string, limitMs: number): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > limitMs) throw new Error(`gave up after ${limitMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('stdout piped to a file: the header and the first FAIL line are there before the run ends', async (t) => {
  const outPath = join(root, 'stream-stdout.txt');
  const release = join(root, 'release');
  const out = await open(outPath, 'w');
  const child = spawn(process.execPath, [CLI, '--impl', adapterPath('slow-after-first.mjs'), '--fixtures', corpus.dir, '--timeout', '600000'], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', RELEASE_FILE: release },
    stdio: ['ignore', out.fd, 'ignore'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => (ended = true));
  // The adapter holds its second fixture until `release` exists, so the run cannot end before.
  // The limit only bounds a broken run (start-up on a loaded machine included).
  await waitUntil(async () => /\nFAIL /.test(await readFile(outPath, 'utf8')) || ended, 'the first FAIL line', 120000);
  const early = await readFile(outPath, 'utf8');
  t.notOk(ended, 'the run was still going when the FAIL line was read');
  t.ok(early.startsWith('adapter slow-after-first: NCHW/OIHW'), 'the header comes first');
  t.match(early, /\ncorpus .* \(digest [0-9a-f]{12}\) at .*: 7 of 7 fixtures selected\n/);
  t.equal(early.match(/^FAIL /gm)?.length, 1, 'exactly one fixture answered so far');
  t.notMatch(early, /passed, .* failed/, 'no summary yet');
  await writeFile(release, '');
  t.equal(await exited, 1);
  await out.close();
  const final = await readFile(outPath, 'utf8');
  t.ok(final.startsWith(early), 'the rest is appended after the streamed part');
  t.match(final, /0 passed, 6 failed, 1 skipped/);
});

t.test('a systematic error over the whole corpus prints at most 30 lines', async (t) => {
  t.ok(existsSync(join(REPO_ROOT, 'fixtures', 'manifest.json')), 'the bundled corpus is there');
  const run = await runCli(['--impl', adapterPath('db-forgotten.mjs')]);
  t.equal(run.code, 1);
  const lines = run.stdout.trimEnd().split('\n');
  t.ok(lines.length <= 30, `${lines.length} lines`, { stdout: run.stdout });
  // Skipped: the dtypes db-forgotten does not declare (bfloat16).
  t.match(run.stdout, /^\d+ passed, 0 failed, \d+ skipped, (\d+) errors/m);
  const errors = Number(/(\d+) errors \((\d+) errors/.exec(run.stdout)![2]);
  t.ok(errors > 400, `${errors} fixtures errored, every one of the corpus`);
  t.match(run.stdout, new RegExp(`\\n  ${errors} fixtures ERROR like [^:]+: db: missing from the result`), 'the message once, with the count');
  t.match(run.stdout, /Every fixture that ran failed/);
});

t.test('--bail and --max-failures stop the run cleanly with exit 1', async (t) => {
  const bail = await runCli(['--impl', adapterPath('db-forgotten.mjs'), '--fixtures', corpus.dir, '--bail', '--json', join(root, 'bail.json')]);
  t.equal(bail.code, 1);
  // One job, one fixture at a time in the adapter plus the ones queued behind it: at least one and
  // fewer than the 7 selected get an outcome.
  const report = JSON.parse(await readFile(join(root, 'bail.json'), 'utf8')) as { outcomes: unknown[]; stopped: { maxFailures: number; notRun: number } };
  t.equal(report.stopped.maxFailures, 1);
  t.equal(report.outcomes.length + report.stopped.notRun, 7, 'every selected fixture either ran or is counted as not run');
  t.ok(report.stopped.notRun > 0, `${report.stopped.notRun} not run`);
  t.match(bail.stdout, /Stopped after 1 failing fixture: \d+ not run/);
  const two = await runCli(['--impl', adapterPath('db-forgotten.mjs'), '--fixtures', corpus.dir, '--max-failures', '2']);
  t.equal(two.code, 1);
  t.match(two.stdout, /Stopped after 2 failing fixtures/);
  const both = await runCli(['--impl', adapterPath('db-forgotten.mjs'), '--fixtures', corpus.dir, '--bail', '--max-failures', '2']);
  t.equal(both.code, 2);
  t.match(both.stderr, /--bail and --max-failures: expected one of them, found both/);
});

t.test('--repeat: a deterministic adapter is reported so; one that is not is named', async (t) => {
  const good = await runCli(['--impl', adapterPath('good-nchw.mjs'), '--fixtures', corpus.dir, '--repeat', '2']);
  t.equal(good.code, 0);
  t.match(good.stdout, /Determinism: every output bitwise identical over 2 calls per fixture/);
  const drifting = await runCli(['--impl', adapterPath('drifts.mjs'), '--fixtures', corpus.dir, '--repeat', '3', '--json', join(root, 'repeat.json')]);
  const report = JSON.parse(await readFile(join(root, 'repeat.json'), 'utf8')) as { determinism: { repeat: number; nondeterministic: { id: string; outputs: string[] }[] } };
  t.equal(report.determinism.repeat, 3);
  // drifts.mjs adds its call count to dw[0] and nothing else: dw differs on every fixture it ran (6: float16 is skipped).
  t.equal(report.determinism.nondeterministic.length, 6);
  t.ok(report.determinism.nondeterministic.every((item) => item.outputs.join() === 'dw'));
  t.match(drifting.stdout, /Not deterministic: 6 fixtures gave different bits over 3 calls/);
});
