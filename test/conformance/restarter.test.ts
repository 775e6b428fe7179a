/**
 * Restarter (conformance/host/restarter.ts), the restart logic of the module and cmd:
 * hosts, with a fake spawn: one start shared by concurrent callers, started only after
 * the previous process's end, none while closing, and a failed start as an error answer.
 */
import t from 'tap';
import { Restarter } from '../../conformance/host/restarter.js';

const FAILURE = 'could not restart';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

t.test('concurrent callers share one start, begun only once the previous end is handled', async (t) => {
  const previousEnd = deferred();
  let spawns = 0;
  const restarter = new Restarter({ ended: () => previousEnd.promise, closing: () => false, spawn: async () => void spawns++, failure: FAILURE });
  const first = restarter.restart();
  const second = restarter.restart();
  t.equal(first, second, 'the same start');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(spawns, 0, 'not before the previous end');
  previousEnd.resolve();
  t.same(await first, { ok: true });
  t.equal(spawns, 1);
  t.equal(restarter.pending, null, 'nothing pending once done');
  t.same(await restarter.restart(), { ok: true });
  t.equal(spawns, 2, 'a later restart starts again');
});

t.test('a failed start is an error answer: the first line in the message, the rest as detail', async (t) => {
  const restarter = new Restarter({
    ended: async () => {},
    closing: () => false,
    spawn: async () => {
      throw new Error('did not load\nadapter stderr:\nboom');
    },
    failure: FAILURE,
  });
  t.same(await restarter.restart(), { ok: false, message: `${FAILURE}: did not load`, detail: 'adapter stderr:\nboom' });
  const oneLine = new Restarter({ ended: async () => {}, closing: () => false, spawn: () => Promise.reject(new Error('gone')), failure: FAILURE });
  t.same(await oneLine.restart(), { ok: false, message: `${FAILURE}: gone`, detail: undefined });
});

t.test('no process is started while the host closes', async (t) => {
  let spawns = 0;
  const restarter = new Restarter({ ended: async () => {}, closing: () => true, spawn: async () => void spawns++, failure: FAILURE });
  t.same(await restarter.restart(), { ok: false, message: `${FAILURE}: the runner is shutting down`, detail: undefined });
  t.equal(spawns, 0);
});
