/**
 * ModuleHost on its own (no runner around it): start-up and its limit, requests
 * queued up to maxInFlight and answered in order, a crash in the middle of a
 * queue failing only its own request, helpers started by the adapter killed on
 * close, and close() answering what is still queued.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { HostRequest } from '../../conformance/host/adapter-host.js';
import { MODULE_HOST_MAX_IN_FLIGHT, ModuleHost } from '../../conformance/host/module-host.js';
import { loadFixture } from '../../src/fixture-io.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
const output = { verbose: false, stream: new PassThrough() };
/** Generous: start-up is not what these tests measure. */
const LOAD_MS = 120000;
const FIXTURE_MS = 60000;

/** A fixture's request in NCHW/OIHW (the default layouts), every output declared. */
async function requestFor(id: string): Promise<HostRequest> {
  const fixture = await loadFixture(join(corpus.dir, id));
  const { meta } = fixture;
  const expected = {
    dx: { dtype: meta.dtype, shape: meta.shapes.dx, layout: 'NCHW' },
    dw: { dtype: meta.dtype, shape: meta.shapes.dw, layout: 'OIHW' },
    db: { dtype: meta.dtype, shape: meta.shapes.db, layout: '[Cout]' },
  };
  return { meta, x: fixture.x, w: fixture.w, dy: fixture.dy, expected, timeoutMs: FIXTURE_MS };
}

const ids = corpus.ids.filter((id) => !id.endsWith('-f16'));

t.test('start, queued requests answered in order, close', async (t) => {
  const host = new ModuleHost(adapterPath('good-nchw.mjs'), 'good-nchw.mjs', output, LOAD_MS);
  t.teardown(() => host.close());
  const capabilities = await host.start();
  t.equal(capabilities.name, 'reference-nchw');
  t.equal(host.maxInFlight, MODULE_HOST_MAX_IN_FLIGHT);
  const requests = await Promise.all(ids.map(requestFor));
  // Every request at once: the host queues them and answers each.
  const responses = await Promise.all(requests.map((request) => host.run(request)));
  t.same(
    responses.map((response) => response.kind),
    ids.map(() => 'ok'),
  );
  await host.close();
  await host.close();
  t.pass('close twice is safe');
});

t.test('a crash in the middle of a queue fails only its own request; the rest go to a fresh process', async (t) => {
  const target = 'plain-normal-f32';
  const previous = process.env.MISBEHAVE_ON;
  process.env.MISBEHAVE_ON = target;
  t.teardown(() => {
    if (previous === undefined) delete process.env.MISBEHAVE_ON;
    else process.env.MISBEHAVE_ON = previous;
  });
  const host = new ModuleHost(adapterPath('kills-itself.mjs'), 'kills-itself.mjs', output, LOAD_MS);
  t.teardown(() => host.close());
  await host.start();
  const requests = await Promise.all(ids.map(requestFor));
  const responses = await Promise.all(requests.map((request) => host.run(request)));
  const byId = new Map(ids.map((id, index) => [id, responses[index]]));
  const crashed = byId.get(target)!;
  t.equal(crashed.kind, 'error');
  t.equal(crashed.kind === 'error' ? crashed.message : '', `the adapter's process was killed by signal SIGKILL while computing fixture ${target}`);
  t.same(
    ids.filter((id) => id !== target).map((id) => `${id}:${byId.get(id)!.kind}`),
    ids.filter((id) => id !== target).map((id) => `${id}:ok`),
  );
});

t.test('a load that overruns the start-up limit is E_ADAPTER_LOAD naming --load-timeout', async (t) => {
  const slow = join(root, 'slow-load.mjs');
  await writeFile(slow, "await new Promise((resolve) => setTimeout(resolve, 60000));\nexport default { name: 'slow', conv2dBackward() {} };\n");
  // 1500 ms: far below the adapter's 60 s wait, whatever the load.
  const host = new ModuleHost(slow, 'slow-load.mjs', output, 1500);
  t.teardown(() => host.close());
  await t.rejects(host.start(), { code: 'E_ADAPTER_LOAD', message: 'adapter slow-load.mjs did not finish loading (import and init()) within 1500 ms (--load-timeout)' });
});

t.test('helpers the adapter started are killed when the host closes; close answers what is queued', async (t) => {
  const pidFile = join(root, 'module-helper.pid');
  const adapter = join(root, 'spawns-helper.mjs');
  await writeFile(
    adapter,
    [
      "import { spawn } from 'node:child_process';",
      "import { writeFileSync } from 'node:fs';",
      `const helper = spawn('sleep', ['300'], { stdio: 'inherit' });`,
      `writeFileSync(${JSON.stringify(pidFile)}, String(helper.pid));`,
      "export default { name: 'spawns-helper', conv2dBackward: () => new Promise(() => {}) };",
      '',
    ].join('\n'),
  );
  const host = new ModuleHost(adapter, 'spawns-helper.mjs', output, LOAD_MS);
  await host.start();
  const pending = host.run(await requestFor(ids[0]));
  await host.close();
  const answer = await pending;
  t.same(answer, { kind: 'error', message: 'the runner is shutting down' });
  t.ok(existsSync(pidFile));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const until = Date.now() + 10000;
  const running = (): boolean => {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw error;
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  };
  while (running() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  t.notOk(running(), `the helper (pid ${pid}) is gone`);
});
