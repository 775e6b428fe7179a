/**
 * Interrupted runs leave nothing behind: `conv2d-fixtures fetch` stopped by
 * SIGINT or SIGTERM in the middle of a download from a slow 127.0.0.1 server
 * exits 130 / 143, says so, and leaves the destination's folder as it was (no
 * temporary archive, no unpacked files); `generate-fixtures` stopped the same way
 * removes its temporary corpus folder. Built JS (dist/), as a user runs it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { packCorpus } from '../../src/corpus-archive.js';
import { copySubsetCorpus, treeDigest } from '../helpers/corpus-subset.js';
import { REPO_ROOT } from './run-cli.js';

const FIXTURES_COMMAND = join(REPO_ROOT, 'dist', 'cli', 'bin', 'conv2d-fixtures.js');
const GENERATE_COMMAND = join(REPO_ROOT, 'dist', 'cli', 'bin', 'generate-fixtures.js');

let root = '';
let archive: Buffer;
t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fixtures-signals-'));
  const subset = await copySubsetCorpus(join(root, 'subset'));
  archive = await readFile((await packCorpus(subset.dir, { out: join(root, 'packed/') })).file);
});
t.teardown(() => rm(root, { recursive: true, force: true }));

/** Poll `check` every 50 ms until it holds (at most `seconds`: generous, for loaded machines). */
async function until(check: () => Promise<boolean>, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Exit {
  code: number | null;
  stderr: string;
}

function start(command: string, args: string[]): { child: ReturnType<typeof spawn>; exited: Promise<Exit>; stderr: () => string } {
  if (!existsSync(command)) throw new Error(`${command} is missing: build first with \`npm run build\``);
  const child = spawn(process.execPath, [command, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.resume();
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stderr }));
  return { child, exited, stderr: () => stderr };
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  t.test(`fetch stopped by ${signal} mid-download: exit ${code}, the destination's folder as it was`, async (t) => {
    // Half the archive at once, then nothing: the download hangs until the signal.
    const open: ServerResponse[] = [];
    const server = createServer((request, response) => {
      open.push(response);
      response.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(archive.length) });
      response.write(archive.subarray(0, Math.floor(archive.length / 2)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow.tar.gz?token=s3cret`;
    const parent = await mkdtemp(join(root, `${signal}-`));
    const dest = join(parent, 'fixtures');
    await cp(join(root, 'subset'), dest, { recursive: true });
    const before = await treeDigest(parent);

    const run = start(FIXTURES_COMMAND, ['fetch', url, '--dest', dest]);
    // The temporary archive exists and has received bytes: the download is under way.
    await until(async () => (await readdir(parent)).some((name) => name.includes('.tmp-')) && open.length > 0, 60, 'the download to start');
    t.match(run.stderr(), 'downloading http://127.0.0.1:', 'progress is shown');
    t.notMatch(run.stderr(), 's3cret', 'the query token is not shown');
    run.child.kill(signal);
    const exit = await run.exited;
    t.equal(exit.code, code, `exit ${code}`);
    t.match(exit.stderr, `conv2d-fixtures: http://127.0.0.1:`);
    t.match(exit.stderr, `stopped during the download: interrupted by ${signal}; temporary files removed, ${dest} left as it was`);
    t.notMatch(exit.stderr, 's3cret');
    t.equal(await treeDigest(parent), before, 'no temporary archive or folder left, the corpus unchanged');
  });
}

t.test('generate-fixtures stopped by SIGINT removes its temporary folder', async (t) => {
  const parent = await mkdtemp(join(root, 'generate-'));
  const out = join(parent, 'corpus');
  // The whole catalog with 20 seeds: far longer than the test waits.
  const run = start(GENERATE_COMMAND, ['--out', out, '--seeds', '20']);
  await until(
    async () => {
      const temporary = (await readdir(parent)).find((name) => name.startsWith('corpus.tmp-'));
      return temporary !== undefined && (await readdir(join(parent, temporary))).length > 0;
    },
    120,
    'the first fixture folder to be written',
  );
  run.child.kill('SIGINT');
  const exit = await run.exited;
  t.equal(exit.code, 130, 'exit 130');
  // Stopped between fixtures, so no write is in flight when the temporary folder is removed.
  t.match(exit.stderr, `generate-fixtures: stopped by SIGINT; temporary folder removed, ${out} left as it was`);
  t.same(await readdir(parent), [], 'no temporary folder left, no corpus either');
});
