/**
 * --fuzz: the one-line case form, the case space (bounds, capabilities,
 * reproducibility), the built case against the oracle, the shrinker, and runs
 * through runConformance (the real module host) with their options and reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { drawFuzzCase, FUZZ_LIMITS } from '../../conformance/fuzz/case-space.js';
import { buildFuzzCase, caseGeometry, caseMacs, formatFuzzCase, parseFuzzCase, type FuzzCase } from '../../conformance/fuzz/fuzz-case.js';
import { shrinkFuzzCase } from '../../conformance/fuzz/shrink.js';
import { buildJsonReport } from '../../conformance/reports/json.js';
import { reproCommand, shellQuote } from '../../conformance/reports/describe.js';
import { runConformance } from '../../conformance/run.js';
import { loadFixture } from '../../src/fixture-io.js';
import { loadManifest } from '../../src/manifest.js';
import { conv2dBackward } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import { resolvePadding } from '../../src/geometry.js';
import { isConformanceError } from '../../src/errors.js';
import { DATA_FAMILIES, type AdapterCapabilities, type Float64Tensor } from '../../src/types.js';
import { fileURLToPath } from 'node:url';

const naive = fileURLToPath(new URL('../../conformance/adapters/naive.ts', import.meta.url));
const buggyTile = fileURLToPath(new URL('../../conformance/self-test/implementations/batch-remainder-dropped.ts', import.meta.url));
const ALL: Pick<AdapterCapabilities, 'dtypes' | 'supports'> = { dtypes: ['float16', 'float32', 'float64', 'bfloat16'], supports: { groups: true, dilation: true, asymmetricPads: true } };

const sample: FuzzCase = {
  x: [2, 4, 9, 7],
  filter: [6, 3, 2],
  groups: 2,
  stride: [2, 1],
  dilation: [1, 2],
  padding: 'EXPLICIT',
  pads: { top: 1, bottom: 0, left: 2, right: 1 },
  dtype: 'float32',
  family: 'normal',
  variant: '',
  seed: 12345,
  dyKeep: null,
};

t.test('the one-line form reads back to the same case; bad lines are E_USAGE naming the key', async (t) => {
  const line = formatFuzzCase(sample);
  t.equal(line, 'x=2x4x9x7 filter=6x3x2 groups=2 stride=2x1 dilation=1x2 padding=EXPLICIT pads=1,0,2,1 dtype=float32 family=normal seed=12345 dy-kept=all');
  t.same(parseFuzzCase(line), sample);
  const auto = parseFuzzCase('x=1x3x8x7 filter=4x3x3 groups=1 stride=2x2 dilation=1x1 padding=SAME_UPPER dtype=float16 family=normal seed=0 dy-kept=1,0');
  t.same(auto.pads, resolvePadding('SAME_UPPER', [8, 7], [3, 3], [2, 2], [1, 1]), 'auto pads resolved by src/geometry.ts');
  t.same(auto.dyKeep, [0, 1], 'dy-kept sorted');
  t.same(parseFuzzCase(formatFuzzCase(auto)), auto);
  const special = parseFuzzCase('x=1x3x8x7 filter=4x3x3 groups=1 stride=1x1 dilation=1x1 padding=VALID dtype=bfloat16 family=special variant=nan-x seed=0 dy-kept=none');
  t.equal(special.variant, 'nan-x');
  t.same(special.dyKeep, []);
  const problems: [string, RegExp][] = [
    [line.replace('groups=2', 'groups=x'), /groups: expected 1 integers >= 1/],
    [line.replace(' seed=12345', ''), /seed= is missing/],
    [line.replace('dtype=float32', 'dtype=int8'), /dtype: expected one of float16, float32, float64, bfloat16, found 'int8'/],
    [`${line} colour=red`, /'colour=red': expected key=value/],
    [line.replace('x=2x4x9x7', 'x=2x5x9x7'), /not a convolution: x shape\[1\]: input channels 5 are not divisible by groups 2/],
    [line.replace('dy-kept=all', 'dy-kept=9999'), /dy-kept: index 9999 is outside dy's/],
    [line.replace('family=normal', 'family=special'), /family special: not defined for these parameters/],
    [`${line} variant=nan-x`, /variant: expected none for family normal, found 'nan-x'/],
  ];
  for (const [bad, message] of problems) {
    t.throws(() => parseFuzzCase(bad), { code: 'E_USAGE', message }, bad);
  }
});

t.test('the case space: within its bounds, the declared dtypes and flags, and the same cases for the same seed', async (t) => {
  const draw = (seed: number, capabilities = ALL, count = 300) => {
    const prng = new Prng(seed);
    return Array.from({ length: count }, () => drawFuzzCase(prng, capabilities));
  };
  const cases = draw(1);
  t.same(cases.map(formatFuzzCase), draw(1).map(formatFuzzCase), 'same seed, same cases');
  t.not(formatFuzzCase(draw(2, ALL, 1)[0]), formatFuzzCase(cases[0]), 'another seed, other cases');
  const outside = cases.filter((fuzzCase) => {
    const [batch, channels, height, width] = fuzzCase.x;
    const [outChannels, kernelHeight, kernelWidth] = fuzzCase.filter;
    return (
      batch > FUZZ_LIMITS.batch || channels > FUZZ_LIMITS.channels || height > FUZZ_LIMITS.spatial || width > FUZZ_LIMITS.spatial ||
      kernelHeight > FUZZ_LIMITS.kernel || kernelWidth > FUZZ_LIMITS.kernel || Math.max(...fuzzCase.stride) > FUZZ_LIMITS.stride ||
      Math.max(...fuzzCase.dilation) > FUZZ_LIMITS.dilation || outChannels / fuzzCase.groups > FUZZ_LIMITS.channels ||
      caseMacs(caseGeometry(fuzzCase)) > 2 ** FUZZ_LIMITS.budgetLog2
    );
  });
  t.same(outside.map(formatFuzzCase), [], 'every case inside the limits');
  // The space reaches past the corpus (widest 32, kernel 5x4, batch 4, 64 channels) on every axis.
  t.ok(cases.some((fuzzCase) => fuzzCase.x[3] > 32), 'inputs wider than 32');
  t.ok(cases.some((fuzzCase) => fuzzCase.filter[1] * fuzzCase.filter[2] >= 49), 'kernels of 7x7 and more');
  t.ok(cases.some((fuzzCase) => fuzzCase.x[0] > 4), 'batches over 4');
  t.ok(cases.some((fuzzCase) => fuzzCase.x[1] > 64), 'more than 64 channels');
  t.ok(cases.some((fuzzCase) => fuzzCase.groups === fuzzCase.x[1] && fuzzCase.filter[0] > fuzzCase.groups), 'depthwise with a multiplier');
  t.ok(cases.some((fuzzCase) => fuzzCase.pads.top > fuzzCase.filter[1]), 'pads beyond the kernel');
  for (const mode of ['EXPLICIT', 'SAME_UPPER', 'SAME_LOWER', 'VALID'] as const) t.ok(cases.some((fuzzCase) => fuzzCase.padding === mode), `padding ${mode}`);
  for (const family of DATA_FAMILIES) t.ok(cases.some((fuzzCase) => fuzzCase.family === family), `family ${family}`);
  for (const dtype of ALL.dtypes) t.ok(cases.some((fuzzCase) => fuzzCase.dtype === dtype), `dtype ${dtype}`);

  const limited = draw(3, { dtypes: ['float64'], supports: { groups: false, dilation: false, asymmetricPads: false } });
  t.same(
    limited.filter((fuzzCase) => fuzzCase.dtype !== 'float64' || fuzzCase.groups > 1 || Math.max(...fuzzCase.dilation) > 1 || fuzzCase.pads.top !== fuzzCase.pads.bottom || fuzzCase.pads.left !== fuzzCase.pads.right).map(formatFuzzCase),
    [],
    'declared dtypes and flags respected',
  );
});

t.test('a built case holds the oracle values of its own inputs, with dy-kept applied', async (t) => {
  const built = buildFuzzCase({ ...sample, dyKeep: [0, 5, 17] }, 'fuzz-1-1');
  if ('problem' in built) throw new Error(built.problem);
  const asFloat64 = (tensor: { shape: number[]; data: Float32Array | Float64Array | Uint16Array }): Float64Tensor => ({ dtype: 'float64', shape: tensor.shape, data: Float64Array.from(tensor.data) });
  const dy = asFloat64(built.tensors.dy);
  t.same([...dy.data.keys()].filter((index) => dy.data[index] !== 0), [0, 5, 17], 'only the kept dy entries are non-zero');
  const expected = conv2dBackward(asFloat64(built.tensors.x), asFloat64(built.tensors.w), dy, built.meta.params);
  t.same(built.tensors.dx.data, expected.dx.data);
  t.same(built.tensors.dw.data, expected.dw.data);
  t.same(built.meta.tolerance.outputs.dw.accumulationLength, 2 * built.geometry.outHeight * built.geometry.outWidth, 'dw sums N*OH*OW products');
  const tooLong = buildFuzzCase({ ...sample, x: [8, 2, 64, 64], filter: [2, 1, 1], groups: 1, stride: [1, 1], dilation: [1, 1], pads: { top: 0, bottom: 0, left: 0, right: 0 }, dtype: 'float16' }, 'fuzz-1-2');
  t.match(tooLong, { problem: /dw: accumulation length 32768 is too long for float16/ }, "a bound the dtype cannot give is the case's problem, not an error");
});

t.test('the shrinker finds the minimal case of a known failure region', async (t) => {
  // Fails when W > 32 and N > 4 (both needed), whatever dy holds: the minimum is W = 33, N = 5, the rest 1 / 0, no dy entry kept.
  const start: FuzzCase = { ...sample, x: [8, 4, 40, 60], filter: [6, 5, 4], stride: [3, 2], dilation: [2, 2], pads: { top: 3, bottom: 1, left: 2, right: 4 } };
  let calls = 0;
  const result = await shrinkFuzzCase(
    start,
    async (candidate) => {
      calls++;
      return candidate.x[3] > 32 && candidate.x[0] > 4;
    },
    { maxRuns: 1000, resolve: (candidate) => candidate },
  );
  t.equal(formatFuzzCase(result.minimal), 'x=5x1x1x33 filter=1x1x1 groups=1 stride=1x1 dilation=1x1 padding=EXPLICIT pads=0,0,0,0 dtype=float32 family=normal seed=12345 dy-kept=none');
  t.equal(result.runs, calls);
  t.notOk(result.exhausted);
  const bounded = await shrinkFuzzCase(start, async () => true, { maxRuns: 3, resolve: (candidate) => candidate });
  t.equal(bounded.runs, 3, 'the run budget is kept');
  t.ok(bounded.exhausted);
});

t.test('--fuzz through the module host: the naive adapter passes, the seed and the cases are in the JSON report', async (t) => {
  const result = await runConformance({ impl: naive, fuzz: { cases: 12, seed: 5 } });
  t.equal(result.counts.pass, 12);
  t.equal(result.fuzz?.seed, 5);
  const again = await runConformance({ impl: naive, fuzz: { cases: 12, seed: 5 } });
  t.equal(again.fuzz?.casesDigest, result.fuzz?.casesDigest, 'the same seed runs the same cases');
  const report = buildJsonReport(result);
  t.equal(report.fuzz?.seed, 5, 'the report (schema-validated) records the seed');
  t.equal(report.fuzz?.cases, 12);
});

t.test('--fuzz-time stops the drawing; the summary says so', async (t) => {
  // 1 ms is over before the first case: the adapter's start-up alone takes longer.
  const result = await runConformance({ impl: naive, fuzz: { cases: 100000, seed: 1, timeSeconds: 0.001 } });
  t.equal(result.fuzz?.stoppedByTime, true);
  t.equal(result.fuzz?.cases, 0);
  t.equal(result.fuzz?.requested, 100000);
});

t.test('a failure is shrunk, saved as a schema-valid corpus folder, and replayed by --fixtures and --fuzz-replay', async (t) => {
  const dir = t.testdir();
  const result = await runConformance({ impl: buggyTile, maxFailures: 1, fuzz: { cases: 300, seed: 1, saveFailures: dir } });
  const failure = result.fuzz?.failures[0];
  t.ok(failure?.shrunk, 'shrunk');
  t.equal(reproCommand(result, failure!.id, 'conformance-runner'), `conformance-runner --impl ${shellQuote(buggyTile)} --fuzz-replay ${shellQuote(failure!.shrunk!.case)}`, 'the JUnit and HTML repro replays the shrunk case');
  t.equal(failure?.shrunk?.case.startsWith('x=5x1x1x1 '), true, `batch 5 is the smallest that drops an image: ${failure?.shrunk?.case}`);
  const manifest = await loadManifest(dir);
  t.same(manifest.fixtures.map((entry) => entry.id), [failure?.shrunk?.id]);
  const fixture = await loadFixture(join(dir, failure!.shrunk!.id));
  t.equal(fixture.meta.description.includes(failure!.shrunk!.case), true, 'fixture.json describes the case');
  const replayed = await runConformance({ impl: buggyTile, fixturesDir: dir });
  t.equal(replayed.counts.fail, 1, 'replays as a failure');
  const naiveReplay = await runConformance({ impl: naive, fixturesDir: dir });
  t.equal(naiveReplay.counts.pass, 1, 'a correct adapter passes it');
  const one = await runConformance({ impl: buggyTile, fuzz: { cases: 1, replay: failure!.shrunk!.case } });
  t.equal(one.counts.fail, 1, '--fuzz-replay fails it again');
  t.ok(readFileSync(join(dir, 'manifest.json'), 'utf8').includes('"corpusVersion": "0.0.0-fuzz"'));
});

t.test('usage errors: replay: hosts, corpus-selection options, bad --save-failures folders', async (t) => {
  const reject = async (options: Parameters<typeof runConformance>[0], message: RegExp) => {
    const error = await runConformance(options).then(
      () => null,
      (caught: unknown) => caught,
    );
    t.ok(isConformanceError(error, 'E_USAGE') && message.test(error.message), `E_USAGE ${message.source}`, { found: error instanceof Error ? error.message : error });
  };
  await reject({ impl: 'replay:/nowhere', fuzz: { cases: 3 } }, /a replay folder holds outputs computed for the corpus fixtures only/);
  await reject({ impl: naive, filter: 'family=exact', fuzz: { cases: 3 } }, /expected none of --fixtures, --filter.*found --filter/);
  await reject({ impl: naive, fuzz: { cases: 3, seed: -1 } }, /--seed: expected an integer in \[0, 4294967295\], found -1/);
  const notCorpus = t.testdir({ 'notes.txt': 'mine' });
  await reject({ impl: naive, fuzz: { cases: 3, saveFailures: notCorpus } }, /--save-failures: expected a new or empty folder or a corpus/);
});
