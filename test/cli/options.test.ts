/**
 * The shared option parsers (cli/options.ts) and the library check behind them
 * (src/option-checks.ts): bounds, messages, and the output-path checks that run before any
 * work. Then the same rules as users meet them, one spawned command each.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkOutputFile, checkOutputFolder, commaList, integerInRange, milliseconds, positiveInteger, secondsAsMilliseconds } from '../../cli/options.js';
import { runConformance } from '../../conformance/run.js';
import { isConformanceError } from '../../src/errors.js';
import { MAX_TIMER_MS } from '../../src/option-checks.js';
import { adapterPath } from '../conformance/run-cli.js';
import { runBin } from './bin-run.js';

t.test('MAX_TIMER_MS is the largest delay setTimeout keeps', async (t) => {
  // Node replaces a longer delay by 1 ms, with a TimeoutOverflowWarning: the bug the bound prevents.
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  const kept = setTimeout(() => t.fail('a MAX_TIMER_MS timer fired'), MAX_TIMER_MS);
  const fired = await new Promise<boolean>((resolve) => {
    // Generous: the overflowing timer fires after 1 ms; only a timer that kept its delay misses this.
    const fallback = setTimeout(() => {
      clearTimeout(overflowing);
      resolve(false);
    }, 20000);
    const overflowing = setTimeout(() => {
      clearTimeout(fallback);
      resolve(true);
    }, MAX_TIMER_MS + 1);
  });
  clearTimeout(kept);
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  t.ok(fired, 'a delay of MAX_TIMER_MS + 1 fires at once');
  t.same(warnings, ['TimeoutOverflowWarning'], 'one warning, for the overflowing timer only');
});

t.test('milliseconds: 1 to 2147483647, otherwise E_USAGE naming the option, the bound and the text', async (t) => {
  const parse = milliseconds('--timeout', 'milliseconds per fixture');
  t.equal(parse('1'), 1);
  t.equal(parse(' 2147483647 '), MAX_TIMER_MS);
  t.throws(() => parse('2147483648'), {
    code: 'E_USAGE',
    message: '--timeout: expected a positive integer of at most 2147483647 (milliseconds per fixture; a timer holds about 24.8 days at most), found "2147483648"',
  });
  t.throws(() => parse('0'), { code: 'E_USAGE', message: '--timeout: expected a positive integer (milliseconds per fixture), found "0"' });
  for (const text of ['soon', '1.5', '-3', '1e3', '']) t.throws(() => parse(text), { code: 'E_USAGE' }, JSON.stringify(text));
});

t.test('seconds: fractions allowed, returned in ms, at most 2147483.647 s', async (t) => {
  const parse = secondsAsMilliseconds('--timeout');
  t.equal(parse('2.5'), 2500);
  t.equal(parse('2147483.647'), MAX_TIMER_MS);
  t.throws(() => parse('2147483.648'), { code: 'E_USAGE', message: /^--timeout: expected a positive number of seconds of at most 2147483\.647 .*found "2147483\.648"$/ });
  t.throws(() => parse('soon'), { code: 'E_USAGE', message: '--timeout: expected a positive number of seconds, found "soon"' });
  t.throws(() => parse('0'), { code: 'E_USAGE' });
});

t.test('integers: positive, or within a range; comma lists accumulate', async (t) => {
  t.equal(positiveInteger('--jobs', 'parallel processes')('3'), 3);
  t.throws(() => positiveInteger('--jobs', 'parallel processes')('-2'), { message: '--jobs: expected a positive integer (parallel processes), found "-2"' });
  const seed = integerInRange('--seed', 'mixed into every seed', 0, 0xffffffff);
  t.equal(seed('0'), 0);
  t.throws(() => seed('4294967296'), { message: '--seed: expected an integer from 0 to 4294967295 (mixed into every seed), found "4294967296"' });
  t.same(commaList(' c ', commaList('a,,b')), ['a', 'b', 'c']);
});

t.test('output paths are checked before any work', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'a file\n', folder: {} });
  checkOutputFile(join(dir, 'report.json'), '--json');
  t.throws(() => checkOutputFile(join(dir, 'missing', 'report.json'), '--json'), {
    code: 'E_USAGE',
    message: `--json: cannot write ${join(dir, 'missing', 'report.json')}: its folder ${join(dir, 'missing')} does not exist`,
  });
  t.throws(() => checkOutputFile(join(dir, 'notes.txt', 'report.json'), '--json'), { message: / is not a folder$/ });
  t.throws(() => checkOutputFile(join(dir, 'folder'), '--junit'), { message: `--junit: expected a file to write, found a folder at ${join(dir, 'folder')}` });
  checkOutputFolder(join(dir, 'folder'), '--out');
  checkOutputFolder(join(dir, 'new', 'deeper'), '--out');
  t.throws(() => checkOutputFolder(join(dir, 'notes.txt'), '--out'), { message: `--out: expected a folder (or a name for a new one), found a file at ${join(dir, 'notes.txt')}` });
  t.throws(() => checkOutputFolder(join(dir, 'notes.txt', 'sub'), '--out'), { message: /found a file at .*notes\.txt, on the way to / });
});

t.test('the library bounds timeoutMs too (runConformance)', async (t) => {
  const error = await runConformance({ impl: adapterPath('good-nchw.mjs'), timeoutMs: MAX_TIMER_MS + 1 }).catch((caught: unknown) => caught);
  t.ok(isConformanceError(error, 'E_USAGE'), 'E_USAGE');
  t.match((error as Error).message, '--timeout: expected a positive integer of at most 2147483647');
});

/** A run that stopped on a clear message: exit 2, `<command>: ...` on stderr, no stack, nothing on stdout. */
function clearUsageError(t: Test, run: { code: number | null; stdout: string; stderr: string }, command: string, message: string): void {
  t.equal(run.code, 2, `${command}: exit 2`);
  t.equal(run.stderr, `${command}: ${message}\n`, `${command}: the message alone`);
  t.notMatch(run.stderr, /\n {4}at /, `${command}: no stack`);
  t.equal(run.stdout, '', `${command}: nothing on stdout`);
}

t.test('as users meet them: ms options above 2147483647 are refused', async (t) => {
  const impl = ['--impl', adapterPath('good-nchw.mjs')];
  clearUsageError(
    t,
    await runBin('conformance-runner', [...impl, '--timeout', '2147483648']),
    'conformance-runner',
    '--timeout: expected a positive integer of at most 2147483647 (milliseconds per fixture; a timer holds about 24.8 days at most), found "2147483648"',
  );
  clearUsageError(
    t,
    await runBin('self-test', ['--timeout', '3000000000']),
    'self-test',
    '--timeout: expected a positive integer of at most 2147483647 (milliseconds per fixture; a timer holds about 24.8 days at most), found "3000000000"',
  );
  clearUsageError(
    t,
    await runBin('conv2d-fixtures', ['fetch', 'a.tar.gz', '--dest', join(t.testdir(), 'dest'), '--timeout', '2500000']),
    'conv2d-fixtures',
    '--timeout: expected a positive number of seconds of at most 2147483.647 (a timer holds about 24.8 days at most), found "2500000"',
  );
});

t.test('as users meet them: --json into a missing folder, --out naming a file', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'not a corpus\n' });
  const missing = join(dir, 'no-such-folder', 'report.json');
  clearUsageError(
    t,
    await runBin('conformance-runner', ['--impl', adapterPath('good-nchw.mjs'), '--json', missing]),
    'conformance-runner',
    `--json: cannot write ${missing}: its folder ${join(dir, 'no-such-folder')} does not exist`,
  );
  clearUsageError(t, await runBin('bench', ['--quick', '--json', missing]), 'bench', `--json: cannot write ${missing}: its folder ${join(dir, 'no-such-folder')} does not exist`);
  const file = join(dir, 'notes.txt');
  clearUsageError(t, await runBin('generate-fixtures', ['--out', file]), 'generate-fixtures', `--out: expected a folder (or a name for a new one), found a file at ${file}`);
  clearUsageError(t, await runBin('emit-schemas', ['--out', file]), 'emit-schemas', `--out: expected a folder (or a name for a new one), found a file at ${file}`);
  await mkdir(join(dir, 'reports'));
  await writeFile(join(dir, 'reports', 'keep.txt'), 'kept\n');
  clearUsageError(
    t,
    await runBin('conformance-runner', ['--impl', adapterPath('good-nchw.mjs'), '--junit', join(dir, 'reports')]),
    'conformance-runner',
    `--junit: expected a file to write, found a folder at ${join(dir, 'reports')}`,
  );
});
