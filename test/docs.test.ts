/**
 * The documentation's commands and links cannot rot.
 *
 * Every ```sh / ```bash block of README.md and docs/*.md is run here with `bash -e`, from
 * the repository root, after the build (the package's pretest step), as a reader would
 * paste it: it must exit 0, or the status its `<!-- exit: N -->` annotation states. A
 * block that cannot run in a test (a registry install, a URL, a placeholder program, a
 * run of minutes) carries `<!-- not run: REASON -->`; those are listed with their reasons
 * in the test output, so none is skipped silently. `<!-- requires-python: MODULES -->`
 * skips a block when python3 lacks the modules, except under CI, where it runs and fails
 * (as test/helpers/python.ts does for the other Python tests).
 *
 * Every relative link and image of those files must name an existing file, and a
 * `#fragment` into a markdown file one of its headings.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from './conformance/run-cli.js';
import { ANNOTATION_KEYS, docBlocks, docFiles, fencedBlocks, where, type DocBlock } from './helpers/doc-blocks.js';
import { PYTHON, pythonSkipReason } from './helpers/python.js';

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell']);
/** Generous: a block runs a few small commands, but the machine may be loaded. */
const BLOCK_TIMEOUT_MS = 300_000;
/** Blocks running at the same time: each is mostly one runner and one adapter process. */
const BLOCK_JOBS = 2;

const blocks = docBlocks();
const shellBlocks = blocks.filter((block) => SHELL_LANGUAGES.has(block.language));

interface BlockRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Run one block with bash -e from the repository root; TMPDIR is the test's own folder. */
function runBlock(block: DocBlock, tmpdir: string): Promise<BlockRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmpdir, NO_COLOR: '1', PYTHON };
  delete env.FORCE_COLOR;
  delete env.CONV2D_FIXTURES;
  delete env.CONV2D_FIXTURES_PER_FAMILY;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-c', block.code], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: BLOCK_TIMEOUT_MS });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** Run the tasks given to the returned function at most `jobs` at a time, in the order given. */
function limiter(jobs: number): <T>(task: () => Promise<T>) => Promise<T> {
  const queue: Array<() => void> = [];
  let active = 0;
  const pump = (): void => {
    while (active < jobs && queue.length > 0) {
      active++;
      queue.shift()?.();
    }
  };
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            pump();
          });
      });
      pump();
    });
}

/** The exit status a block states (`<!-- exit: N -->`, checked to be a number above), 0 by default. */
function expectedStatus(block: DocBlock): number {
  return block.annotations.exit === undefined ? 0 : Number(block.annotations.exit);
}

t.test('the annotations above code blocks are well-formed', async (t) => {
  const problems: string[] = [];
  for (const block of blocks) {
    for (const comment of block.unknownAnnotations) problems.push(`${where(block)}: ${comment} is not one of the annotations ${ANNOTATION_KEYS.join(', ')}`);
    const shell = SHELL_LANGUAGES.has(block.language);
    const { 'not run': notRun, exit, 'requires-python': requiresPython } = block.annotations;
    if (notRun !== undefined && (!shell || notRun === '')) problems.push(`${where(block)}: 'not run' must sit on a shell block and give a reason`);
    if ((exit !== undefined || requiresPython !== undefined) && (!shell || notRun !== undefined)) {
      problems.push(`${where(block)}: 'exit' and 'requires-python' annotate a shell block that runs`);
    }
    if (exit !== undefined && !/^\d+$/.test(exit)) problems.push(`${where(block)}: 'exit: ${exit}' must give a number`);
  }
  t.same(problems, [], `${blocks.length} code blocks, their annotations well-formed`);
  // The extractor must see the blocks a reader sees: finding almost none would mean a parsing bug.
  t.ok(shellBlocks.length >= 10, `found ${shellBlocks.length} shell blocks in README.md and docs/*.md`);
});

t.test('every shell block of the docs runs, or says why not', async (t) => {
  const notRun = shellBlocks.filter((block) => block.annotations['not run'] !== undefined);
  for (const block of notRun) t.comment(`not run: ${where(block)}: ${block.annotations['not run']}`);
  const runnable = shellBlocks.filter((block) => block.annotations['not run'] === undefined);
  t.comment(`${runnable.length} shell blocks run, ${notRun.length} marked not run`);
  const skips = runnable.map((block) => {
    const modules = block.annotations['requires-python'];
    return modules === undefined ? false : pythonSkipReason(modules.split(/[\s,]+/).filter((name) => name !== ''));
  });
  // Blocks run BLOCK_JOBS at a time, in document order, each in its own TMPDIR; each
  // block's subtest then awaits its run, so results are asserted in document order.
  const root = t.testdir();
  const limit = limiter(BLOCK_JOBS);
  const runs = runnable.map((block, position) => {
    if (skips[position] !== false) return null;
    const tmpdir = join(root, String(position));
    const run = limit(() => mkdir(tmpdir).then(() => runBlock(block, tmpdir)));
    run.catch(() => undefined); // handled: the block's subtest awaits it and reports the failure
    return run;
  });
  for (const [position, block] of runnable.entries()) {
    const skip = skips[position];
    if (skip !== false) t.comment(`skipped: ${where(block)}: ${skip}`);
    await t.test(where(block), { skip }, async (t) => {
      const run = await (runs[position] as Promise<BlockRun>);
      const status = expectedStatus(block);
      const killed = run.signal === null ? '' : ` (killed by ${run.signal})`;
      t.equal(run.code, status, `${where(block)} exits ${status}${killed}`, { block: block.code, output: run.output.slice(-4000) });
    });
  }
});

// ---------------------------------------------------------------------------
// Links.

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a markdown file's headings (outside code blocks), numbered on repeats as GitHub does. */
function anchors(text: string): Set<string> {
  const result = new Set<string>();
  const counts = new Map<string, number>();
  for (const line of blankFences(text).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const base = slug(heading[1]);
    const seen = counts.get(base) ?? 0;
    result.add(seen === 0 ? base : `${base}-${seen}`);
    counts.set(base, seen + 1);
  }
  return result;
}

/** The text with its fenced blocks blanked, fences included (line numbers kept). */
function blankFences(text: string): string {
  const lines = text.split('\n');
  for (const block of fencedBlocks({ file: 'text', text })) {
    const bodyLines = block.code.split('\n').length - 1;
    for (let index = block.line - 1; index <= block.line + bodyLines && index < lines.length; index++) lines[index] = '';
  }
  return lines.join('\n');
}

t.test('every relative link of the docs names an existing file (and heading)', async (t) => {
  let checked = 0;
  for (const doc of docFiles()) {
    // Inline code spans are not links (`[x](y)` in backticks is an example).
    const lines = blankFences(doc.text).replace(/`[^`\n]*`/g, '').split('\n');
    for (let index = 0; index < lines.length; index++) {
      for (const match of lines[index].matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = match[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
        const [path, fragment] = target.split('#', 2);
        const file = path === '' ? join(REPO_ROOT, doc.file) : normalize(join(REPO_ROOT, dirname(doc.file), decodeURIComponent(path)));
        const at = `${doc.file}:${index + 1}: ${target}`;
        checked++;
        if (!t.ok(existsSync(file), `${at}: ${file} exists`)) continue;
        if (fragment !== undefined && file.endsWith('.md')) {
          t.ok(anchors(readFileSync(file, 'utf8')).has(fragment), `${at}: a heading with anchor #${fragment}`);
        }
      }
    }
  }
  t.ok(checked >= 20, `checked ${checked} relative links`);
});
