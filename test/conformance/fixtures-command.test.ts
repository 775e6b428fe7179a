/**
 * The conv2d-fixtures CLI (built JS: dist/cli/bin/conv2d-fixtures.js) end to
 * end, as a user runs it: pack, verify, fetch and path, with their exit statuses
 * (0 ok, 1 a corpus or archive refused, 2 usage) and what they print. Corpus: a
 * five-fixture subset of the bundled one (test/helpers/corpus-subset.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { archiveFileName } from '../../src/corpus-archive.js';
import { CORPUS_PIN } from '../../src/corpus-pin.js';
import { sha256Hex } from '../../src/hash.js';
import { bundledCorpusDir } from '../../src/paths.js';
import { copySubsetCorpus, serveFiles, treeDigest, type FileServer, type SubsetCorpus } from '../helpers/corpus-subset.js';
import { REPO_ROOT, type CliRun } from './run-cli.js';

const COMMAND = join(REPO_ROOT, 'dist', 'cli', 'bin', 'conv2d-fixtures.js');
const ARCHIVE = archiveFileName('1.0.0-subset');

/** Run `conv2d-fixtures ARGS` in `cwd` (default: the repository). */
function runFixtures(args: string[], cwd = REPO_ROOT): Promise<CliRun> {
  if (!existsSync(COMMAND)) throw new Error(`${COMMAND} is missing: build first with \`npm run build\``);
  return new Promise((resolve) => {
    execFile(process.execPath, [COMMAND, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

let root = '';
let subset: SubsetCorpus;
/** Two of the subset's fixtures as corpus 0.9.0-old: what a destination holds before a fetch. */
let older: SubsetCorpus;
/** Files listed in the subset's manifest (ten per fixture). */
let fileCount = 0;

t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fixtures-command-'));
  subset = await copySubsetCorpus(join(root, 'subset'));
  older = await copySubsetCorpus(join(root, 'older'), { ids: subset.ids.slice(0, 2), corpusVersion: '0.9.0-old' });
  fileCount = subset.manifest.fixtures.reduce((sum, entry) => sum + Object.keys(entry.files).length, 0);
});
t.teardown(() => rm(root, { recursive: true, force: true }));

function scratch(name: string): Promise<string> {
  return mkdtemp(join(root, `${name}-`));
}

/** The two lines `pack` prints, parsed. */
const PACKED = /^wrote (.+) \((\d+) bytes; corpus 1\.0\.0-subset, (\d+) fixtures, (\d+) entries\)\nsha256 ([0-9a-f]{64}) \(also in (.+)\)\n$/;

t.test('pack: twice to identical bytes, the sha256 printed is the file\'s and the .sha256 file\'s', async (t) => {
  const runs: { file: string; sha256: string; bytes: Buffer }[] = [];
  for (const name of ['first', 'second']) {
    const out = await scratch(name);
    const run = await runFixtures(['pack', '--fixtures', subset.dir, '--out', `${out}/`]);
    t.equal(run.code, 0, `${name}: exit 0`);
    t.equal(run.stderr, '', `${name}: nothing on stderr`);
    const printed = PACKED.exec(run.stdout);
    if (!t.ok(printed, `${name}: stdout is the two result lines: ${run.stdout}`) || printed === null) return;
    const [, file, size, fixtures, entries, sha256, sha256File] = printed;
    t.equal(file, join(out, ARCHIVE), `${name}: archive named after the corpus version, in --out`);
    t.equal(sha256File, `${file}.sha256`);
    const bytes = await readFile(file);
    t.equal(Number(size), bytes.length, `${name}: the size printed is the file's`);
    t.equal(sha256, sha256Hex(bytes), `${name}: the sha256 printed is the file's`);
    t.equal(await readFile(sha256File, 'utf8'), `${sha256}  ${ARCHIVE}\n`, `${name}: .sha256 in sha256sum format`);
    t.equal(Number(fixtures), subset.ids.length);
    // The top folder, manifest.json, and a folder plus its files for each fixture.
    t.equal(Number(entries), 1 + 1 + subset.ids.length + fileCount);
    t.same((await readdir(out)).sort(), [ARCHIVE, `${ARCHIVE}.sha256`], `${name}: no temporary file left`);
    runs.push({ file, sha256, bytes });
  }
  t.equal(runs[1].sha256, runs[0].sha256, 'same sha256');
  t.ok(runs[1].bytes.equals(runs[0].bytes), 'same bytes');

  // Packing again over an existing archive replaces it with the same bytes.
  const again = await runFixtures(['pack', '--fixtures', subset.dir, '--out', runs[0].file]);
  t.equal(again.code, 0);
  t.ok((await readFile(runs[0].file)).equals(runs[0].bytes), 'overwritten with identical bytes');
  t.same((await readdir(join(runs[0].file, '..'))).sort(), [ARCHIVE, `${ARCHIVE}.sha256`]);

  // Without --out, the archive lands in the current folder.
  const cwd = await scratch('cwd');
  const here = await runFixtures(['pack', '--fixtures', subset.dir], cwd);
  t.equal(here.code, 0);
  t.match(here.stdout, `wrote ${ARCHIVE} (`);
  t.ok((await readFile(join(cwd, ARCHIVE))).equals(runs[0].bytes), 'default --out: ./<archive name>, same bytes');
});

t.test('pack refuses a corpus that does not verify (exit 1) and writes nothing', async (t) => {
  const broken = join(await scratch('broken'), 'corpus');
  await cp(subset.dir, broken, { recursive: true });
  const target = join(broken, subset.ids[2], 'db.npy');
  const bytes = await readFile(target);
  bytes[bytes.length - 1] ^= 0x01;
  await writeFile(target, bytes);
  const out = await scratch('broken-out');
  const run = await runFixtures(['pack', '--fixtures', broken, '--out', `${out}/`]);
  t.equal(run.code, 1);
  t.equal(run.stdout, '');
  t.match(run.stderr, `conv2d-fixtures: ${broken}: refusing to pack a corpus that does not verify (1 problem):\n  ${subset.ids[2]}/db.npy: bytes changed: sha256 expected`);
  t.same(await readdir(out), []);
});

t.test('verify: exit 0 on an intact corpus, with what was checked', async (t) => {
  const run = await runFixtures(['verify', subset.dir]);
  t.equal(run.code, 0);
  t.equal(
    run.stdout,
    `OK ${subset.dir}: corpus 1.0.0-subset, ${subset.ids.length} fixtures, ${fileCount} files verified and loaded, digest ${subset.manifest.digest}\n` +
      `not pinned: corpus version 1.0.0-subset was never released (released: ${Object.keys(CORPUS_PIN.released).join(', ')}), so digest ${subset.manifest.digest.slice(0, 12)} cannot be compared with a release\n`,
  );
  t.equal(run.stderr, '');
  // Without a folder: the corpus bundled with the package.
  const bundled = await runFixtures(['verify']);
  t.equal(bundled.code, 0, `bundled corpus: ${bundled.stdout}${bundled.stderr}`);
  t.match(bundled.stdout, new RegExp(`^OK ${bundledCorpusDir()}: corpus \\S+, \\d+ fixtures, \\d+ files verified and loaded, digest [0-9a-f]{64}\\npinned: matches the corpus this package shipped \\(`));
});

t.test('verify: exit 1 listing the problems of a changed byte, an extra file, a missing file', async (t) => {
  // One byte of x.npy changed.
  const changed = join(await scratch('changed'), 'corpus');
  await cp(subset.dir, changed, { recursive: true });
  const target = join(changed, subset.ids[1], 'x.npy');
  const bytes = await readFile(target);
  const listed = sha256Hex(bytes);
  bytes[bytes.length - 1] ^= 0x01; // last data byte: the header still parses
  await writeFile(target, bytes);
  const run = await runFixtures(['verify', changed]);
  t.equal(run.code, 1);
  t.equal(run.stdout, `FAILED ${changed}: 1 problem\n  ${subset.ids[1]}/x.npy: bytes changed: sha256 expected ${listed} (manifest.json), found ${sha256Hex(bytes)}\n`);

  // Unexpected files, at the top and inside a fixture folder.
  const extra = join(await scratch('extra'), 'corpus');
  await cp(subset.dir, extra, { recursive: true });
  await writeFile(join(extra, 'notes.txt'), 'mine\n');
  await writeFile(join(extra, subset.ids[0], 'dx-copy.npy'), await readFile(join(extra, subset.ids[0], 'dx.npy')));
  const extraRun = await runFixtures(['verify', extra]);
  t.equal(extraRun.code, 1);
  t.match(extraRun.stdout, `FAILED ${extra}: 2 problems\n`);
  t.match(extraRun.stdout, '  notes.txt: unexpected file: expected only manifest.json and the fixture folders the manifest lists\n');
  t.match(extraRun.stdout, `  ${subset.ids[0]}/dx-copy.npy: unexpected file: not listed in manifest.json\n`);

  // A file removed, and a folder that is no corpus at all.
  const missing = join(await scratch('missing'), 'corpus');
  await cp(subset.dir, missing, { recursive: true });
  await rm(join(missing, subset.ids[3], 'dw-magnitude.npy'));
  const missingRun = await runFixtures(['verify', missing]);
  t.equal(missingRun.code, 1);
  t.equal(missingRun.stdout, `FAILED ${missing}: 1 problem\n  ${subset.ids[3]}/dw-magnitude.npy: missing file listed in manifest.json\n`);
  const nothing = await scratch('nothing');
  const nothingRun = await runFixtures(['verify', nothing]);
  t.equal(nothingRun.code, 1);
  t.match(nothingRun.stdout, `FAILED ${nothing}: 1 problem\n  manifest.json: ${join(nothing, 'manifest.json')}: expected the corpus manifest, found no such file\n`);
});

t.test('fetch', async (t) => {
  const packed = await runFixtures(['pack', '--fixtures', subset.dir, '--out', `${await scratch('served')}/`]);
  const [, file, , , , sha256] = PACKED.exec(packed.stdout) as RegExpExecArray;
  const archive = await readFile(file);
  const server: FileServer = await serveFiles({ [`/${ARCHIVE}`]: { body: archive } });
  t.teardown(() => server.close());
  const url = server.url(`/${ARCHIVE}`);

  t.test('from http://127.0.0.1 with --sha256: exit 0, the corpus installed', async (t) => {
    const parent = await scratch('fetch');
    const dest = join(parent, 'fixtures');
    const run = await runFixtures(['fetch', url, '--dest', dest, '--sha256', sha256]);
    t.equal(run.code, 0, run.stderr);
    t.equal(
      run.stdout,
      `installed corpus 1.0.0-subset (${subset.ids.length} fixtures, digest ${subset.manifest.digest}) into ${dest}\n` +
        `archive ${url}: ${archive.length} bytes, sha256 ${sha256}\n`,
    );
    // Not a terminal: one progress line per phase instead of a bar.
    t.equal(run.stderr, `downloading ${url} (${archive.length} bytes)\nunpacking\nverifying the corpus\ninstalling\n`);
    t.equal(await treeDigest(dest), await treeDigest(subset.dir), 'same names and bytes as the packed corpus');
    t.same(await readdir(parent), ['fixtures'], 'nothing else left beside it');
    const verified = await runFixtures(['verify', dest]);
    t.equal(verified.code, 0, 'the installed corpus verifies');
  });

  t.test('over an older corpus, from a local path without --sha256: replaced', async (t) => {
    const dest = join(await scratch('replace'), 'fixtures');
    await cp(older.dir, dest, { recursive: true });
    const run = await runFixtures(['fetch', file, '--dest', dest]);
    t.equal(run.code, 0, run.stderr);
    t.match(run.stdout, `installed corpus 1.0.0-subset (${subset.ids.length} fixtures`);
    t.match(run.stdout, `archive ${file}: ${archive.length} bytes, sha256 ${sha256}\n`);
    t.equal(await treeDigest(dest), await treeDigest(subset.dir));
  });

  t.test('a wrong --sha256: exit 1, the message on stderr, the destination unchanged', async (t) => {
    const parent = await scratch('wrong');
    const dest = join(parent, 'fixtures');
    await cp(older.dir, dest, { recursive: true });
    const before = await treeDigest(parent);
    const wrong = sha256Hex(new TextEncoder().encode('some other archive'));
    const run = await runFixtures(['fetch', url, '--dest', dest, '--sha256', wrong]);
    t.equal(run.code, 1);
    t.equal(run.stdout, '');
    t.match(run.stderr, `conv2d-fixtures: ${url}: sha256 does not match: expected ${wrong}, found ${sha256}\n`);
    t.equal(await treeDigest(parent), before, 'the older corpus untouched, no temporary file beside it');
    t.same(await readdir(parent), ['fixtures']);
  });

  t.test('a 404 (exit 1) and a non-corpus destination (exit 2, a usage error): nothing touched', async (t) => {
    const parent = await scratch('refused');
    const dest = join(parent, 'fixtures');
    const missingUrl = server.url('/no-such.tar.gz');
    const notFound = await runFixtures(['fetch', missingUrl, '--dest', dest]);
    t.equal(notFound.code, 1);
    t.match(notFound.stderr, `conv2d-fixtures: ${missingUrl}: expected HTTP 200, found 404 Not Found\n`);
    t.notOk(existsSync(dest), 'no destination created');
    const project = join(parent, 'project');
    await mkdir(project);
    await writeFile(join(project, 'main.c'), 'int main(void) { return 0; }\n');
    const before = await treeDigest(parent);
    const busy = await runFixtures(['fetch', url, '--dest', project]);
    t.equal(busy.code, 2);
    t.equal(
      busy.stderr,
      `conv2d-fixtures: ${project}: expected nothing, an empty folder or a corpus folder (manifest.json and only the fixture folders it lists), found a folder with other content ("main.c") and no manifest.json: refusing to replace it\n`,
    );
    t.equal(await treeDigest(parent), before);
  });
});

t.test('usage errors exit 2 with a message; help exits 0', async (t) => {
  const dest = join(await scratch('usage'), 'fixtures');
  const cases: [string, string[], string | RegExp][] = [
    ['unknown subcommand', ['unpack'], "error: unknown command 'unpack'"],
    ['no subcommand', [], /Usage: conv2d-fixtures/],
    ['--sha256 too short', ['fetch', 'a.tar.gz', '--dest', dest, '--sha256', 'abc'], 'expected 64 hexadecimal digits, found "abc"'],
    ['--sha256 not hex', ['fetch', 'a.tar.gz', '--dest', dest, '--sha256', 'g'.repeat(64)], `expected 64 hexadecimal digits, found "${'g'.repeat(64)}"`],
    ['fetch without --dest', ['fetch', 'a.tar.gz'], "error: required option '--dest <dir>' not specified"],
    ['fetch without a source', ['fetch', '--dest', dest], "error: missing required argument 'source'"],
    ['bad --timeout', ['fetch', 'a.tar.gz', '--dest', dest, '--timeout', 'soon'], 'expected a positive number of seconds, found "soon"'],
    ['unknown option', ['verify', '--deep'], "error: unknown option '--deep'"],
    ['unsupported scheme', ['fetch', 'ftp://127.0.0.1/a.tar.gz', '--dest', dest], 'conv2d-fixtures: source "ftp://127.0.0.1/a.tar.gz": expected an http:, https: or file: URL or a local path, found the scheme ftp:'],
  ];
  for (const [name, args, message] of cases) {
    const run = await runFixtures(args);
    t.equal(run.code, 2, `${name}: exit 2`);
    t.match(run.stderr, message, `${name}: message on stderr`);
  }
  t.notOk(existsSync(dest), 'no usage error created the destination');
  for (const args of [['--help'], ['help'], ['help', 'fetch'], ['fetch', '--help']]) {
    const run = await runFixtures(args);
    t.equal(run.code, 0, `${args.join(' ')}: exit 0`);
    t.match(run.stdout, 'Usage: conv2d-fixtures', `${args.join(' ')}: help on stdout`);
  }
});

t.test('path prints the bundled corpus folder, the same the package export gives', async (t) => {
  const run = await runFixtures(['path']);
  t.equal(run.code, 0);
  t.equal(run.stdout, `${join(REPO_ROOT, 'fixtures')}\n`);
  t.equal(run.stdout.trimEnd(), bundledCorpusDir());
  // `conv2d-backward-conformance/fixtures`, resolved through package.json's exports (the package refers to itself by name).
  const specifier = 'conv2d-backward-conformance/fixtures';
  const entry = (await import(specifier)) as { fixturesDir: string; manifestPath: string };
  t.equal(entry.fixturesDir, run.stdout.trimEnd());
  t.equal(entry.manifestPath, join(entry.fixturesDir, 'manifest.json'));
  t.ok(existsSync(entry.manifestPath), 'manifest.json is there');
  t.equal(basename(entry.fixturesDir), 'fixtures');
});
