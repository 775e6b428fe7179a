/** --sandbox (conformance/host/sandbox.ts): a hostile adapter cannot see the corpus; a correct one passes. */
import t from 'tap';
import { existsSync } from 'node:fs';
import { adapterPath, runCli } from './run-cli.js';

const skip = existsSync('/usr/bin/bwrap') ? false : 'bubblewrap (bwrap) is not installed';

t.test('an adapter reading ../fixtures sees the corpus without --sandbox and not with it', { skip }, async (t) => {
  const args = ['--impl', adapterPath('reads-corpus.mjs'), '--only', 'basic-3x3-pad1-exact-f32'];
  const plain = await runCli(args);
  t.match(plain.stdout + plain.stderr, /corpus visible: [1-9]\d* entries/);
  const sandboxed = await runCli([...args, '--sandbox']);
  // Hidden under an empty tmpfs: the folder exists but holds nothing (0 entries).
  t.match(sandboxed.stdout, /corpus visible: 0 entries/);
  t.match(sandboxed.stdout, /0 passed, 0 failed, 0 skipped, 1 error/);
});

t.test('the naive adapter passes the float32 corpus under --sandbox', { skip }, async (t) => {
  const run = await runCli(['--impl', 'dist/conformance/adapters/naive.js', '--filter', 'dtype=float32', '--sandbox']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /, 0 failed, 0 skipped, 0 errors/);
});
