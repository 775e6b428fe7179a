/**
 * generate-fixtures --out refuses what fetch --dest refuses (one rule:
 * src/corpus-destination.ts): a folder that is not empty and not a corpus, a
 * corpus folder holding other files too, a symbolic link, a file. The user's
 * folder stays byte for byte as it was, and nothing is left beside it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { generateCorpus } from '../../generator/generate.js';
import { checkReplaceableDestination } from '../../src/corpus-destination.js';
import { isConformanceError } from '../../src/errors.js';
import { REPO_ROOT, type CliRun } from '../conformance/run-cli.js';
import { oracleWitness } from '../helpers/oracle-witness.js';
import { copySubsetCorpus, treeDigest } from '../helpers/corpus-subset.js';

const COMMAND = join(REPO_ROOT, 'dist', 'cli', 'bin', 'generate-fixtures.js');
const EXPECTED = 'expected nothing, an empty folder or a corpus folder (manifest.json and only the fixture folders it lists)';

let root = '';
t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'generate-destination-'));
});
t.teardown(() => rm(root, { recursive: true, force: true }));

/** A user's folder: notes.txt and sub/thesis.tex. */
async function usersFolder(parent: string): Promise<string> {
  const dir = join(parent, 'my-thesis');
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'notes.txt'), 'my notes\n');
  await writeFile(join(dir, 'sub', 'thesis.tex'), '\\documentclass{article}\n');
  return dir;
}

function runGenerate(args: string[]): Promise<CliRun> {
  if (!existsSync(COMMAND)) throw new Error(`${COMMAND} is missing: build first with \`npm run build\``);
  return new Promise((resolve) => {
    execFile(process.execPath, [COMMAND, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

t.test('generate-fixtures --out on a folder with notes.txt and sub/thesis.tex: exit 2, the folder byte-identical', async (t) => {
  const parent = await mkdtemp(join(root, 'cli-'));
  const dir = await usersFolder(parent);
  const before = await treeDigest(parent);
  const run = await runGenerate(['--out', dir, '--cases', 'output-1x1', '--families', 'normal']);
  t.equal(run.code, 2, `exit 2 (stderr: ${run.stderr})`);
  t.equal(
    run.stderr,
    `generate-fixtures: ${dir}: ${EXPECTED}, found a folder with other content ("notes.txt", "sub/") and no manifest.json: refusing to replace it\n`,
  );
  t.equal(await treeDigest(parent), before, 'folder and its parent unchanged: no temporary folder either');
});

t.test('generateCorpus refuses the same destinations as fetch, before building anything', async (t) => {
  const witnesses = [oracleWitness('onnxruntime-fake', 0), oracleWitness('tfjs-fake', 0)];
  const refuse = async (name: string, dest: string, found: string, hint = ''): Promise<void> => {
    const parent = join(dest, '..');
    const before = await treeDigest(parent);
    let built = 0;
    const error = await generateCorpus({ outDir: dest, cases: ['output-1x1'], families: ['normal'], witnesses, onFixture: () => built++ }).catch((caught: unknown) => caught);
    t.ok(isConformanceError(error, 'E_USAGE'), `${name}: E_USAGE, found ${(error as Error)?.message}`);
    t.equal((error as Error).message, `${dest}: ${EXPECTED}, found ${found}: refusing to replace it${hint}`, `${name}: the message`);
    t.equal(built, 0, `${name}: refused before any fixture was built`);
    t.equal(await treeDigest(parent), before, `${name}: unchanged`);
  };

  const users = await usersFolder(await mkdtemp(join(root, 'users-')));
  await refuse('a user folder', users, 'a folder with other content ("notes.txt", "sub/") and no manifest.json');

  // A web-app project: it has a manifest.json, but not a corpus manifest.
  const webApp = join(await mkdtemp(join(root, 'web-')), 'app');
  await mkdir(webApp);
  await writeFile(join(webApp, 'manifest.json'), '{"name": "my app", "start_url": "/"}\n');
  await writeFile(join(webApp, 'index.html'), '<html></html>\n');
  const webError = (await checkReplaceableDestination(webApp).catch((caught: unknown) => caught)) as Error;
  t.match(webError.message, `${webApp}: ${EXPECTED}, found a folder with other content ("index.html", "manifest.json") and no valid corpus manifest (`);

  // A real corpus in which the user keeps a file of their own.
  const corpus = await copySubsetCorpus(join(await mkdtemp(join(root, 'corpus-')), 'fixtures'));
  await writeFile(join(corpus.dir, 'my-notes.txt'), 'do not delete\n');
  await writeFile(join(corpus.dir, corpus.ids[0], 'extra.npy'), 'mine\n');
  await refuse('a corpus with foreign files', corpus.dir, `a corpus folder with other content too ("${corpus.ids[0]}/extra.npy", "my-notes.txt": not listed in its manifest.json)`);

  const linkParent = await mkdtemp(join(root, 'link-'));
  const real = await copySubsetCorpus(join(linkParent, 'real'));
  await symlink(real.dir, join(linkParent, 'fixtures'));
  await refuse('a symbolic link to a corpus', join(linkParent, 'fixtures'), `a symbolic link (to "${real.dir}")`, ' (give the folder it points to)');

  const fileParent = await mkdtemp(join(root, 'file-'));
  await writeFile(join(fileParent, 'out'), 'a file\n');
  await refuse('a file', join(fileParent, 'out'), 'a file');
});

t.test('checkReplaceableDestination accepts nothing, an empty folder and a corpus (even a damaged one)', async (t) => {
  const parent = await mkdtemp(join(root, 'ok-'));
  t.same(await checkReplaceableDestination(join(parent, 'missing')), { status: 'missing' });
  await mkdir(join(parent, 'empty'));
  t.same(await checkReplaceableDestination(join(parent, 'empty')), { status: 'empty' });
  const corpus = await copySubsetCorpus(join(parent, 'corpus'));
  const state = { status: 'corpus', corpusVersion: '1.0.0-subset', digest: corpus.manifest.digest };
  t.same(await checkReplaceableDestination(corpus.dir), state);
  // Changed bytes do not make it someone else's folder: a fetch is how it gets repaired.
  await writeFile(join(corpus.dir, corpus.ids[0], 'dx.npy'), 'damaged\n');
  t.same(await checkReplaceableDestination(corpus.dir), state);
});
