/**
 * The README's code cannot rot: every block preceded by `<!-- readme-test: NAME -->`
 * is extracted and run here against the bundled corpus, as a user would run it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { bundledCorpusDir } from '../src/paths.js';
import type { Manifest } from '../src/types.js';
import { REPO_ROOT, runCli } from './conformance/run-cli.js';
import { PYTHON, pythonSkipReason } from './helpers/python.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const manifest = JSON.parse(readFileSync(join(bundledCorpusDir(), 'manifest.json'), 'utf8')) as Manifest;

/** The blocks marked for testing, by name. */
function testedBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const marker = /<!-- readme-test: ([\w.-]+) -->\n```\w*\n([\s\S]*?)\n```/g;
  for (const match of text.matchAll(marker)) blocks.set(match[1], `${match[2]}\n`);
  return blocks;
}

const blocks = testedBlocks(readme);
const float32Count = manifest.fixtures.filter((entry) => entry.dtype === 'float32').length;
const summary = (passed: number, skipped: number) => `${passed} passed, 0 failed, ${skipped} skipped, 0 errors (0 errors, 0 timeouts, 0 missing)`;
const lastLine = (text: string) => text.trimEnd().split('\n').pop();

t.test('the README marks its runnable blocks', async (t) => {
  t.same([...blocks.keys()].sort(), ['my-adapter.mjs', 'write-replay.py']);
});

t.test('README adapter: passes every float32 fixture of the bundled corpus and skips the rest', async (t) => {
  const dir = t.testdir();
  const adapter = join(dir, 'my-adapter.mjs');
  await writeFile(adapter, blocks.get('my-adapter.mjs') ?? '');
  const run = await runCli(['--impl', adapter]);
  t.equal(run.code, 0, run.stderr);
  t.equal(lastLine(run.stdout), summary(float32Count, manifest.fixtureCount - float32Count));
});

t.test('README replay loop: its outputs score as passes, float32 only', { skip: pythonSkipReason(['numpy']) }, async (t) => {
  const dir = t.testdir();
  await writeFile(join(dir, 'write-replay.py'), blocks.get('write-replay.py') ?? '');
  // `my_conv` stands for the user's implementation: here the stand-in of the pytest example
  // (same signature: x, w, dy, stride, dilation, pads, groups -> dx, dw, db).
  const example = join(REPO_ROOT, 'conformance', 'examples', 'use-fixtures-pytest.py');
  await writeFile(
    join(dir, 'my_conv.py'),
    [
      'import importlib.util',
      `spec = importlib.util.spec_from_file_location('use_fixtures_example', ${JSON.stringify(example)})`,
      'module = importlib.util.module_from_spec(spec)',
      'spec.loader.exec_module(module)',
      'conv2d_backward = module.conv2d_backward',
      '',
    ].join('\n'),
  );
  const outputs = join(dir, 'outputs');
  await promisify(execFile)(PYTHON, [join(dir, 'write-replay.py'), bundledCorpusDir(), outputs], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  const run = await runCli(['--impl', `replay:${outputs}`]);
  t.equal(run.code, 0, run.stderr);
  t.equal(lastLine(run.stdout), summary(float32Count, manifest.fixtureCount - float32Count));
});
