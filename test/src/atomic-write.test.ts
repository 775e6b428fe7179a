import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { isProcessAlive, recoverInterruptedSwap, replaceDirectoryAtomically, siblingName, trackedTemporaries, writeFileAtomic } from '../../src/atomic-write.js';

async function temporaryFolder(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'atomic-write-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** Every file under `folder` with its bytes (hex), and every empty folder, keyed by relative path. */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (current: string): Promise<void> => {
    const items = await readdir(current, { withFileTypes: true });
    if (items.length === 0) result[`${relative(folder, current)}/`] = '(empty folder)';
    for (const item of items) {
      const path = join(current, item.name);
      if (item.isDirectory()) await walk(path);
      else result[relative(folder, path)] = (await readFile(path)).toString('hex');
    }
  };
  await walk(folder);
  return result;
}

t.test('writeFileAtomic writes and replaces, leaving no temporary file', async (t) => {
  const folder = await temporaryFolder(t);
  const path = join(folder, 'data.bin');
  await writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
  t.same([...(await readFile(path))], [1, 2, 3]);
  await writeFileAtomic(path, 'text é\n');
  t.equal(await readFile(path, 'utf8'), 'text é\n', 'strings are written as UTF-8');
  await writeFileAtomic(path, 'synced', { fsync: true });
  t.equal(await readFile(path, 'utf8'), 'synced');
  t.same(await readdir(folder), ['data.bin']);
});

t.test('writeFileAtomic failures leave the target and the folder as they were', async (t) => {
  const folder = await temporaryFolder(t);
  // The target is a non-empty folder: the rename fails after the temporary file was written.
  const target = join(folder, 'occupied');
  await mkdir(target);
  await writeFile(join(target, 'inside.txt'), 'keep me');
  await t.rejects(writeFileAtomic(target, 'new content'));
  t.same((await readdir(folder)).sort(), ['occupied'], 'the temporary file was removed');
  t.equal(await readFile(join(target, 'inside.txt'), 'utf8'), 'keep me');
  // A missing folder: nothing is created.
  await t.rejects(writeFileAtomic(join(folder, 'missing', 'file.txt'), 'x'), { code: 'ENOENT' });
  t.same((await readdir(folder)).sort(), ['occupied']);
});

t.test('temporary names are beside the target, with the pid and a counter', async (t) => {
  const first = siblingName('/data/corpus', 'tmp');
  const second = siblingName('/data/corpus', 'tmp');
  t.match(first, new RegExp(`^/data/corpus\\.tmp-${process.pid}-\\d+$`));
  t.not(first, second);
  t.match(siblingName('/data/corpus', 'old'), new RegExp(`^/data/corpus\\.old-${process.pid}-\\d+$`));
});

t.test('replaceDirectoryAtomically creates a missing target', async (t) => {
  const folder = await temporaryFolder(t);
  const target = join(folder, 'nested', 'corpus');
  let seen = '';
  await replaceDirectoryAtomically(target, async (temporaryDir) => {
    seen = temporaryDir;
    t.equal(dirname(temporaryDir), dirname(target), 'built beside the target');
    t.match(temporaryDir, new RegExp(`corpus\\.tmp-${process.pid}-\\d+$`));
    t.same(await readdir(temporaryDir), [], 'starts empty');
    await writeFile(join(temporaryDir, 'a.txt'), 'A');
  });
  t.same(await snapshot(target), { 'a.txt': Buffer.from('A').toString('hex') });
  await t.rejects(stat(seen), { code: 'ENOENT' });
  t.same(await readdir(dirname(target)), ['corpus'], 'no temporary or old folder left');
});

t.test('replaceDirectoryAtomically swaps in the new content and removes the old', async (t) => {
  const folder = await temporaryFolder(t);
  const target = join(folder, 'corpus');
  await mkdir(join(target, 'old-fixture'), { recursive: true });
  await writeFile(join(target, 'old-fixture', 'x.npy'), 'old');
  await writeFile(join(target, 'manifest.json'), '{"old": true}');
  await replaceDirectoryAtomically(target, async (temporaryDir) => {
    await mkdir(join(temporaryDir, 'new-fixture'));
    await writeFile(join(temporaryDir, 'new-fixture', 'x.npy'), 'new');
    await writeFile(join(temporaryDir, 'manifest.json'), '{"new": true}');
    // The old content is still in place while the build runs.
    t.equal(await readFile(join(target, 'manifest.json'), 'utf8'), '{"old": true}');
  });
  t.same(await snapshot(target), {
    'manifest.json': Buffer.from('{"new": true}').toString('hex'),
    'new-fixture/x.npy': Buffer.from('new').toString('hex'),
  });
  t.same(await readdir(folder), ['corpus'], 'no temporary or old folder left');
});

t.test('a throwing build leaves the old content byte-identical and rethrows its error', async (t) => {
  const folder = await temporaryFolder(t);
  const target = join(folder, 'corpus');
  await mkdir(join(target, 'fixture-a'), { recursive: true });
  await mkdir(join(target, 'empty-folder'));
  await writeFile(join(target, 'fixture-a', 'x.npy'), Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0, 255]));
  await writeFile(join(target, 'manifest.json'), '{"version": "1.0.0"}\n');
  const before = await snapshot(target);
  const failure = new Error('witness disagreed');
  let temporary = '';
  await t.rejects(
    replaceDirectoryAtomically(target, async (temporaryDir) => {
      temporary = temporaryDir;
      await writeFile(join(temporaryDir, 'manifest.json'), 'half written');
      await mkdir(join(temporaryDir, 'fixture-b'));
      throw failure;
    }),
    failure,
  );
  t.same(await snapshot(target), before, 'old content byte-identical');
  await t.rejects(stat(temporary), { code: 'ENOENT' }, 'the temporary folder was removed');
  t.same(await readdir(folder), ['corpus']);
});

t.test('a throwing build with no previous target leaves nothing behind', async (t) => {
  const folder = await temporaryFolder(t);
  const target = join(folder, 'corpus');
  await t.rejects(
    replaceDirectoryAtomically(target, async () => {
      throw new RangeError('plan is empty');
    }),
    { name: 'RangeError', message: 'plan is empty' },
  );
  t.same(await readdir(folder), []);
});

/** The pid of a process that has exited (a node that did nothing). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid as number;
}

t.test('recoverInterruptedSwap: what dead processes left is removed or put back; live ones and look-alikes are left alone', async (t) => {
  const folder = await temporaryFolder(t);
  const target = join(folder, 'fixtures');
  const dead = await deadPid();
  t.notOk(isProcessAlive(dead), `pid ${dead} has exited`);
  const live = process.ppid;
  t.ok(isProcessAlive(live), 'the parent process is alive');
  // A kill between the two renames of a swap: the target is missing, the old corpus under .old-.
  await mkdir(join(folder, `fixtures.old-${dead}-1`));
  await writeFile(join(folder, `fixtures.old-${dead}-1`, 'manifest.json'), 'old corpus\n');
  // A killed build, and a killed fetch's archive.
  await mkdir(join(folder, `fixtures.tmp-${dead}-2`));
  await writeFile(join(folder, `fixtures.tmp-${dead}-2`, 'half'), 'half written\n');
  await writeFile(join(folder, `fixtures.tmp-${dead}-3.tar.gz`), 'part of an archive\n');
  // A run still going, and names that are not exactly ours.
  await mkdir(join(folder, `fixtures.tmp-${live}-4`));
  await writeFile(join(folder, `fixtures.tmp-${dead}-5.bak`), 'someone else\n');
  await writeFile(join(folder, `other.tmp-${dead}-6`), 'another target\n');

  const done = await recoverInterruptedSwap(target);
  t.same(
    done.map((item) => [relative(folder, item.path), item.action]),
    [
      [`fixtures.old-${dead}-1`, 'restored'],
      [`fixtures.tmp-${dead}-2`, 'removed'],
      [`fixtures.tmp-${dead}-3.tar.gz`, 'removed'],
    ],
  );
  t.equal(await readFile(join(target, 'manifest.json'), 'utf8'), 'old corpus\n', 'the old corpus is back under its name');
  t.same((await readdir(folder)).sort(), ['fixtures', `fixtures.tmp-${dead}-5.bak`, `fixtures.tmp-${live}-4`, `other.tmp-${dead}-6`].sort());

  // With the target present, a dead process's .old- copy is simply removed.
  await mkdir(join(folder, `fixtures.old-${dead}-7`));
  t.same((await recoverInterruptedSwap(target)).map((item) => item.action), ['removed']);
  t.equal(await readFile(join(target, 'manifest.json'), 'utf8'), 'old corpus\n');
});

t.test('replaceDirectoryAtomically cleans stale siblings first, and tracks its temporary folder only while it exists', async (t) => {
  const folder = await temporaryFolder(t);
  const target = join(folder, 'out');
  const dead = await deadPid();
  await mkdir(join(folder, `out.tmp-${dead}-1`));
  let during: string[] = [];
  await replaceDirectoryAtomically(target, async (temporary) => {
    during = trackedTemporaries().filter((path) => path === temporary);
    await writeFile(join(temporary, 'a'), 'new\n');
  });
  t.equal(during.length, 1, 'tracked during the build (removed on exit if the process exits then)');
  t.same(trackedTemporaries().filter((path) => path.startsWith(folder)), [], 'untracked after the swap');
  t.same(await readdir(folder), ['out'], 'the stale folder is gone');
});
