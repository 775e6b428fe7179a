/**
 * conformance/host/adapter-calls.ts: the supports() answer and the description of what an
 * adapter threw, shared by the module host's child and the browser harness; and that the
 * module bundles for the page (no Node builtin in it or what it imports).
 */
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { answerSupports, describeThrown } from '../../conformance/host/adapter-calls.js';
import { bundleForBrowser } from '../../conformance/host/browser-host.js';
import type { Adapter, FixtureMeta } from '../../src/types.js';

const meta = { id: 'some-fixture' } as FixtureMeta;
const withSupports = (supports: Adapter['supports']): Adapter => ({ name: 'test', conv2dBackward: () => ({}), supports }) as unknown as Adapter;

t.test('supports(): true, a reason, false, a throw, anything else', async (t) => {
  t.same(await answerSupports(undefined, meta), { kind: 'supported' });
  t.same(await answerSupports(withSupports(undefined), meta), { kind: 'supported' }, 'no supports function');
  t.same(await answerSupports(withSupports(() => true), meta), { kind: 'supported' });
  t.same(await answerSupports(withSupports(() => '  no dilation  '), meta), { kind: 'unsupported', reason: 'no dilation' });
  t.same(await answerSupports(withSupports(() => false), meta), { kind: 'unsupported', reason: 'supports() returned false' });
  const thrown = await answerSupports(
    withSupports(() => {
      throw new TypeError('bad meta');
    }),
    meta,
  );
  t.match(thrown, { kind: 'error', message: 'supports() threw: TypeError: bad meta', stack: /TypeError: bad meta/ });
  t.same(await answerSupports(withSupports((() => '  ') as Adapter['supports']), meta), { kind: 'error', message: 'supports() returned string "  "; expected true or a reason string' });
});

t.test('describeThrown: the error name unless a plain Error, and non-Error values named', async (t) => {
  t.equal(describeThrown(new Error('plain')).message, 'plain');
  t.equal(describeThrown(new RangeError('out')).message, 'RangeError: out');
  t.equal(describeThrown(new Error('')).message, 'Error');
  t.equal(describeThrown(42).stack, undefined);
  t.match(describeThrown(42).message, /^threw a non-Error value: /);
});

t.test('the module bundles for the browser (esbuild, platform browser): no Node builtin', async (t) => {
  const entry = fileURLToPath(new URL('../../conformance/host/adapter-calls.ts', import.meta.url));
  const bundle = await bundleForBrowser(entry, 'the shared adapter calls');
  t.notMatch(bundle, /from\s*["']node:/);
});
