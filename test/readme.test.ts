/**
 * The documentation's code cannot rot: every block of README.md or docs/*.md preceded by
 * `<!-- readme-test: NAME -->` is extracted and run here against the bundled corpus, as a
 * user would run it. (test/docs.test.ts runs the shell blocks.)
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
import { docBlocks, where } from './helpers/doc-blocks.js';
import { PYTHON, pythonSkipReason } from './helpers/python.js';

const manifest = JSON.parse(readFileSync(join(bundledCorpusDir(), 'manifest.json'), 'utf8')) as Manifest;

/** The blocks marked for testing, by name, and where each name is marked (to catch duplicates). */
const marked = docBlocks().filter((block) => block.annotations['readme-test'] !== undefined);
const blocks = new Map(marked.map((block) => [block.annotations['readme-test'] ?? '', block.code]));
const float32Count = manifest.fixtures.filter((entry) => entry.dtype === 'float32').length;
const summary = (passed: number, skipped: number) => `${passed} passed, 0 failed, ${skipped} skipped, 0 errors (0 errors, 0 timeouts, 0 missing)`;
const lastLine = (text: string) => text.trimEnd().split('\n').pop();

t.test('the docs mark their runnable blocks, each name once', async (t) => {
  t.same(marked.map((block) => block.annotations['readme-test']).sort(), ['my-adapter.mjs', 'write-replay.py'], marked.map(where).join(', '));
});

t.test('the documented adapter (my-adapter.mjs): passes every float32 fixture of the bundled corpus and skips the rest', async (t) => {
  const dir = t.testdir();
  const adapter = join(dir, 'my-adapter.mjs');
  await writeFile(adapter, blocks.get('my-adapter.mjs') ?? '');
  const run = await runCli(['--impl', adapter]);
  t.equal(run.code, 0, run.stderr);
  t.equal(lastLine(run.stdout), summary(float32Count, manifest.fixtureCount - float32Count));
});

t.test('the documented replay loop (write-replay.py): its outputs score as passes, float32 only', { skip: pythonSkipReason(['numpy']) }, async (t) => {
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
