/**
 * The conformance-runner CLI (built JS) end to end: every exit status, with the
 * message a user sees. Corpus: test/helpers/small-corpus.ts (7 fixtures, one of
 * them float16, which the JS test adapters do not declare).
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { buildSmallCorpus } from '../helpers/small-corpus.js';
import { adapterPath, runCli } from './run-cli.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));
const fixtures = ['--fixtures', corpus.dir];

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines[lines.length - 1];
}

t.test('exit 0: a correct adapter in each layout and module format', async (t) => {
  for (const file of ['good-nchw.mjs', 'good-nhwc-hwio.mjs', 'good-ohwi.cjs']) {
    const run = await runCli(['--impl', adapterPath(file), ...fixtures]);
    t.equal(run.code, 0, file);
    // 7 fixtures; plain-normal-f16 is float16, not in the adapter's dtypes.
    t.equal(lastLine(run.stdout), '6 passed, 0 failed, 1 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)', file);
    t.match(run.stdout, /1 {2}unsupported: dtype float16 \(the adapter declares float32, float64\)/, file);
    t.notMatch(run.stdout, /Families with failures|Tags with failures|Likely cause/, `${file}: no failure tables or likely cause when everything passes`);
  }
});

t.test('exit 1: a wrong value, with the failing element, expected vs got and a repro command that works', async (t) => {
  const run = await runCli(['--impl', adapterPath('wrong-values.mjs'), ...fixtures], { MISBEHAVE_ON: 'plain-normal-f32' });
  t.equal(run.code, 1);
  t.equal(lastLine(run.stdout), '5 passed, 1 failed, 1 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');
  // dw[1] (flat) of w [4, 3, 3, 3] is element (0, 0, 0, 1), written in the adapter's OIHW with labels.
  t.match(
    run.stdout,
    /FAIL {4}plain-normal-f32 \(x \d+x\d+x\d+x\d+ w 4x3x3x3 stride \d+,\d+ dilation \d+,\d+ pads t\d+ b\d+ l\d+ r\d+ groups \d+\) {2}dw: error [0-9.e+]+ times the proven bound at o=0 i=0 h=0 w=1: expected -?[0-9.e-]+, got -?[0-9.e-]+ \(bound [0-9.e-]+; 1 of 108 elements fail\)/,
  );
  // Under npm (npx tap, npm test) the repro starts with npx: the bin is on npm's PATH only.
  const repro = /repro: (?:npx )?conformance-runner (.*)\n/.exec(run.stdout);
  t.ok(repro, 'a repro line is printed');
  t.equal(repro?.[1], `--impl ${adapterPath('wrong-values.mjs')} --fixtures ${corpus.dir} --only plain-normal-f32`);
  const rerun = await runCli(repro![1].split(' '), { MISBEHAVE_ON: 'plain-normal-f32' });
  t.equal(rerun.code, 1);
  t.equal(lastLine(rerun.stdout), '0 passed, 1 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)', 'the repro runs that fixture alone');
});

t.test('exit 1 when nothing ran: every selected fixture skipped', async (t) => {
  const all = await runCli(['--impl', adapterPath('skips-everything.mjs'), ...fixtures]);
  t.equal(all.code, 1);
  t.match(all.stdout, /0 passed, 0 failed, 7 skipped, 0 errors \(0 errors, 0 timeouts, 0 missing\)\nnothing ran: every selected fixture was skipped, so the run does not pass\n$/);
  t.match(all.stdout, /6 {2}unsupported: nothing is supported/);
  const onlyFloat16 = await runCli(['--impl', adapterPath('good-nchw.mjs'), ...fixtures, '--only', 'plain-normal-f16']);
  t.equal(onlyFloat16.code, 1, 'a float16-only selection with a float32/float64 adapter runs nothing');
  t.match(onlyFloat16.stdout, /0 passed, 0 failed, 1 skipped, 0 errors/);
});

t.test('exit 2: usage errors say what was expected and what was found', async (t) => {
  const impl = ['--impl', adapterPath('good-nchw.mjs')];
  const cases: [string[], RegExp][] = [
    [[...impl, ...fixtures, '--timeout', 'soon'], /--timeout: expected a positive integer \(milliseconds per fixture\), found "soon"/],
    [[...impl, ...fixtures, '--timeout', '0'], /--timeout: expected a positive integer \(milliseconds per fixture\), found "0"/],
    [[...impl, ...fixtures, '--jobs', '-2'], /--jobs: expected a positive integer \(number of parallel adapter processes\), found "-2"/],
    [[...impl, ...fixtures, '--shard', '3/2'], /--shard: expected I\/N with integers 1 <= I <= N \(e\.g\. 2\/4\), found '3\/2'/],
    [[...impl, ...fixtures, '--filter', 'colour=red'], /--filter term 'colour=red': unknown key 'colour'; expected one of family, dtype, tag, case, id/],
    [[...impl, ...fixtures, '--filter', 'family=zeros'], /--filter 'family=zeros' selects none of the 7 fixtures/],
    [[...impl, ...fixtures, '--only', 'plain'], /--only: no fixture with id 'plain' \(did you mean plain-exact-f64, plain-normal-f16, plain-normal-f32\?\)/],
    [[...impl, ...fixtures, '--filter', 'family=exact', '--shard', '3/3'], /--shard 3\/3 selects no fixture: only 2 fixtures are selected before sharding/],
    [[...impl, ...fixtures, '--frobnicate'], /error: unknown option '--frobnicate'/],
    [[...fixtures], /error: required option '--impl <adapter>' not specified/],
    [[...impl, '--fixtures', join(root, 'no-such-corpus')], /--fixtures: no corpus folder at .*no-such-corpus/],
    [[...impl, '--fixtures', root], /--fixtures: .* is not a corpus: expected manifest\.json in it, found none/],
    [['--impl', 'cmd:', ...fixtures], /--impl cmd:COMMAND: expected a command after 'cmd:', found nothing/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, message, args.join(' '));
    t.equal(run.stdout, '', `nothing on stdout: ${args.join(' ')}`);
  }
});

t.test('exit 2: malformed adapters, each problem named', async (t) => {
  const cases: [string, RegExp][] = [
    ['no-default.mjs', /no default export: expected `export default \{ name, conv2dBackward, \.\.\. \}` \(ESM\) or `module\.exports = \{ \.\.\. \}` \(CommonJS\), found only named exports conv2dBackward, name/],
    ['no-backward.mjs', /conv2dBackward: expected a function \(request\) => \(\{ dx, dw, db \}\), found undefined/],
    ['bad-layout.mjs', /layout: unknown activation layout "NWHC"; expected one of NCHW, NHWC\n {2}- filterLayout: unknown filter layout "IOHW"; expected one of OIHW, HWIO, OHWI/],
    ["bad-dtypes.mjs", /dtypes\[1\]: unknown name "int8"; expected one of float16, float32, float64, bfloat16/],
    ['bad-output.mjs', /outputs\[1\]: unknown name "dbias"; expected one of dx, dw, db/],
    ['import-throws.mjs', /importing .*import-throws\.mjs failed: native binding libconv\.so not found\nError: native binding libconv\.so not found\n {4}at loadNativeBinding \(.*import-throws\.mjs:2:9\)/],
    ['syntax-error.mjs', /importing .*syntax-error\.mjs failed: SyntaxError: Unexpected token/],
    ['init-throws.mjs', /init\(\) threw: GPU device not available\nError: GPU device not available\n {4}at Object\.init/],
    ['exits-on-import.mjs', /ended its process while loading: the adapter called process\.exit\(0\)/],
    ['does-not-exist.mjs', /adapter module not found: .*does-not-exist\.mjs \(from --impl .*does-not-exist\.mjs\)/],
  ];
  for (const [file, message] of cases) {
    const run = await runCli(['--impl', adapterPath(file), ...fixtures]);
    t.equal(run.code, 2, file);
    t.match(run.stderr, message, file);
  }
});

t.test('exit 2: a corpus that fails its checksums or its manifest', async (t) => {
  // fixture.json files and the manifest are verified before anything runs.
  const editedMeta = join(root, 'edited-meta');
  await cp(corpus.dir, editedMeta, { recursive: true });
  const metaPath = join(editedMeta, 'plain-normal-f32', 'fixture.json');
  await writeFile(metaPath, (await readFile(metaPath, 'utf8')).replace('test fixture plain-normal-f32', 'edited by hand'));
  const metaRun = await runCli(['--impl', adapterPath('good-nchw.mjs'), '--fixtures', editedMeta]);
  t.equal(metaRun.code, 2);
  t.match(metaRun.stderr, /corpus .*edited-meta failed verification \(1 problem\):\n {2}plain-normal-f32\/fixture\.json: bytes changed: sha256 expected [0-9a-f]{64} \(manifest\.json\), found [0-9a-f]{64}/);
  t.equal(metaRun.stdout, '', 'no report: nothing was scored');

  // Tensor files are verified as each fixture is loaded (their bytes are read once): the run stops there.
  const damaged = join(root, 'damaged');
  await cp(corpus.dir, damaged, { recursive: true });
  const xPath = join(damaged, 'plain-normal-f32', 'x.npy');
  const bytes = await readFile(xPath);
  bytes[bytes.length - 1] ^= 1;
  await writeFile(xPath, bytes);
  const run = await runCli(['--impl', adapterPath('good-nchw.mjs'), '--fixtures', damaged]);
  t.equal(run.code, 2);
  t.match(run.stderr, /plain-normal-f32\/x\.npy: sha256 does not match fixture\.json: expected [0-9a-f]{64}, found [0-9a-f]{64}/);
  t.notMatch(run.stdout, /passed, .* failed/, 'no summary for a run on a damaged corpus (only the streamed header)');

  const badManifest = join(root, 'bad-manifest');
  await cp(corpus.dir, badManifest, { recursive: true });
  const manifestPath = join(badManifest, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { digest: string };
  manifest.digest = '0'.repeat(64);
  await writeFile(manifestPath, JSON.stringify(manifest));
  const digestRun = await runCli(['--impl', adapterPath('good-nchw.mjs'), '--fixtures', badManifest]);
  t.equal(digestRun.code, 2);
  t.match(digestRun.stderr, /manifest\.json: digest does not match the listed files/);
});

t.test('--verbose forwards adapter stdout/stderr to stderr; without it they are dropped; stdout never carries them', async (t) => {
  const quiet = await runCli(['--impl', adapterPath('noisy.mjs'), ...fixtures, '--only', 'plain-normal-f32']);
  t.equal(quiet.code, 0);
  t.notMatch(quiet.stderr, /NOISE/);
  t.notMatch(quiet.stdout, /NOISE/);
  const verbose = await runCli(['--impl', adapterPath('noisy.mjs'), ...fixtures, '--only', 'plain-normal-f32', '--verbose']);
  t.equal(verbose.code, 0);
  t.match(verbose.stderr, /NOISE-STDOUT computing plain-normal-f32/);
  t.match(verbose.stderr, /NOISE-STDERR computing plain-normal-f32/);
  t.notMatch(verbose.stdout, /NOISE/);
  t.match(verbose.stdout, /PASS {4}plain-normal-f32 {2}pass \(exact\)/, '--verbose lists passing fixtures');
});

t.test('--help exits 0', async (t) => {
  const run = await runCli(['--help']);
  t.equal(run.code, 0);
  t.match(run.stdout, /Usage: conformance-runner \[options\]/);
  t.match(run.stdout, /--shard <i\/n>/);
});
