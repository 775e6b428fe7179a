/**
 * The self-test catalog against the corpus: every buggy implementation must fail
 * (on a fixture's numbers, not by crashing) and every correct one must pass,
 * through the real runner (runConformance). Plus the pieces: the catalog's
 * consistency, the verdict rule, the matrix, and the fast float16 rounding the
 * kernels use.
 *
 * Corpus: the bundled fixtures/ when it is there; otherwise one generated into a
 * temporary folder by the generator (the same plan, witnessed by onnxruntime and
 * TF.js CPU), so the test checks the corpus the project ships either way.
 *
 * The buggy implementations run in self-test-buggy.test.ts (a file of their own,
 * so that each half has tap's whole per-file time limit on a loaded machine).
 *
 * Runtime (measured on the shared 2-core machine, 2 entries at a time): the
 * correct implementations run on the whole corpus (every fixture they declare:
 * ~170 s, most of it fft-radix2 and the two Winograd entries, which start first),
 * except the bundled naive adapter, whose whole-corpus run is a `.ci/run` step;
 * the buggy ones on the `normal` and `special` families without the 10
 * `realistic` layers (135 fixtures: ~34 s instead of ~75 s for the whole corpus,
 * where a fixed ~2.5 s per entry for the adapter process and corpus check
 * dominates). Random mantissas (`normal`) expose every indexing, life-cycle and
 * precision bug of the catalog and `special` the special-value ones; this test
 * proves that by catching each bug on that subset. `npm run self-test` runs
 * everything over the full corpus and prints the full matrix.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import { CATALOG, CORPUS_GAPS, catalogModulePath, type CatalogEntry } from '../../conformance/self-test/catalog.js';
import { KERNEL_BUGS } from '../../conformance/self-test/buggy-kernels.js';
import { likelyCauses } from '../../conformance/diagnosis/rank.js';
import { CAUSE_SIGNATURES } from '../../conformance/diagnosis/signatures.js';
import { roundToBfloat16, roundToFloat16 } from '../../conformance/self-test/fast-rounding.js';
import { actualVerdict, formatMatrix, runCatalog, type EntryReport } from '../../conformance/self-test/self-test.js';
import type { RunResult } from '../../conformance/run.js';
import { float16BitsToFloat64, float64ToFloat16Bits } from '../../src/dtype.js';
import { Prng } from '../../src/prng.js';
import type { Adapter, Outcome, OutcomeStatus } from '../../src/types.js';
import { SLOW_MACHINE_TIMEOUT_MS, corpusDir } from '../helpers/self-test-corpus.js';

t.test('fast float16 rounding equals src/dtype.ts on every float16 value, midpoint and near-midpoint', async (t) => {
  const reference = (value: number) => float16BitsToFloat64(float64ToFloat16Bits(value));
  let checked = 0;
  const mismatches: string[] = [];
  const check = (value: number): void => {
    checked++;
    const fast = roundToFloat16(value);
    const slow = reference(value);
    if (!Object.is(fast, slow) && mismatches.length < 5) mismatches.push(`${value}: fast ${fast}, reference ${slow}`);
  };
  // Every finite positive pattern (0x0000-0x7bff) and the step to the next one (0x7c00 is +Inf).
  for (let bits = 0; bits < 0x7c00; bits++) {
    const value = float16BitsToFloat64(bits);
    const next = float16BitsToFloat64(bits + 1);
    const midpoint = (value + next) / 2;
    const nudge = (next - value) * 2 ** -20;
    for (const sign of [1, -1]) for (const candidate of [value, midpoint, midpoint - nudge, midpoint + nudge]) check(sign * candidate);
  }
  const prng = new Prng(2024);
  for (let index = 0; index < 100000; index++) check(prng.normal() * 2 ** prng.integer(-30, 18));
  for (const special of [0, -0, Infinity, -Infinity, NaN, 65519.999, 65520, Number.MIN_VALUE, -Number.MIN_VALUE, 2 ** -25, 3 * 2 ** -25]) check(special);
  t.same(mismatches, [], `${checked} values checked`);
});

t.test('bfloat16 rounding keeps 8 significant bits, ties to even', async (t) => {
  // bfloat16 spacing at 1 is 2^-7. 1 + 2^-8 is a tie between 1 (even) and 1 + 2^-7;
  // 1 + 3*2^-8 a tie between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  t.equal(roundToBfloat16(1 + 2 ** -8), 1);
  t.equal(roundToBfloat16(1 + 3 * 2 ** -8), 1 + 2 ** -6);
  t.equal(roundToBfloat16(1 + 2 ** -8 + 2 ** -20), 1 + 2 ** -7);
  t.equal(roundToBfloat16(-3), -3);
  t.ok(Number.isNaN(roundToBfloat16(NaN)));
  t.equal(roundToBfloat16(Infinity), Infinity);
});

t.test('the catalog is consistent', async (t) => {
  const entries = [...CATALOG, ...CORPUS_GAPS];
  t.equal(new Set(entries.map((entry) => entry.name)).size, entries.length, 'names are unique');
  const buggy = CATALOG.filter((entry) => entry.expected === 'fail');
  const correct = CATALOG.filter((entry) => entry.expected === 'pass');
  t.ok(buggy.length >= 15, `${buggy.length} buggy implementations (at least 15)`);
  const bundled = ['naive-float32', 'tfjs', 'onnxruntime'];
  t.ok(correct.filter((entry) => !bundled.includes(entry.name)).length >= 3, 'at least 3 correct implementations besides the bundled adapters');
  t.same(
    bundled.filter((name) => !correct.some((entry) => entry.name === name)),
    [],
    'the bundled adapters are in the catalog',
  );
  // Every kernel bug is either in the catalog or a documented gap.
  const listed = new Set(entries.map((entry) => entry.name));
  t.same(
    Object.keys(KERNEL_BUGS).filter((bug) => bug !== 'none' && !listed.has(`buggy-${bug}`)),
    [],
    'every bug of buggy-kernels.ts is listed',
  );
  for (const entry of entries) {
    const path = catalogModulePath(entry);
    t.ok(existsSync(path), `${entry.name}: module ${path} exists`);
    const adapter = ((await import(path)) as { default: Adapter }).default;
    t.equal(adapter.name, entry.name, `${entry.name}: the module's adapter has the entry's name`);
    t.ok(entry.description.length > 0, `${entry.name}: described`);
    if (entry.expected === 'fail') t.ok(entry.caughtBy, `${entry.name}: says what catches it`);
  }
  const causeIds = CAUSE_SIGNATURES.map((signature) => signature.id);
  t.equal(new Set(causeIds).size, causeIds.length, 'cause ids are unique');
  for (const entry of CATALOG.filter((item) => item.expected === 'fail')) {
    t.ok(entry.cause !== undefined && causeIds.includes(entry.cause), `${entry.name}: names a known likely cause (${entry.cause})`);
  }
  t.same(
    causeIds.filter((id) => !CATALOG.some((entry) => entry.cause === id)),
    [],
    'every likely cause is the cause of some catalog bug (each signature is checked on a run)',
  );
});

function outcome(id: string, status: OutcomeStatus, family: Outcome['family'] = 'normal', tags: string[] = []): Outcome {
  const base = { id, family, dtype: 'float32' as const, tags };
  if (status === 'pass') return { ...base, status, grade: 'exact', outputs: [], seconds: 0 };
  if (status === 'fail') return { ...base, status, failing: ['dx'], outputs: [], seconds: 0 };
  if (status === 'skipped') return { ...base, status, reason: 'unsupported: dtype' };
  if (status === 'timeout') return { ...base, status, timeoutMs: 1 };
  return { ...base, status, message: 'boom' };
}

function fakeResult(outcomes: Outcome[]): RunResult {
  const counts: Record<OutcomeStatus, number> = { pass: 0, fail: 0, error: 0, timeout: 0, missing: 0, skipped: 0 };
  for (const item of outcomes) counts[item.status]++;
  return { outcomes, counts } as unknown as RunResult;
}

t.test('verdicts: pass needs a pass and no failure; fail needs a failing fixture; all skipped is inconclusive', async (t) => {
  t.equal(actualVerdict(fakeResult([outcome('a', 'pass'), outcome('b', 'skipped')])), 'pass');
  t.equal(actualVerdict(fakeResult([outcome('a', 'pass'), outcome('b', 'fail')])), 'fail');
  t.equal(actualVerdict(fakeResult([outcome('a', 'pass'), outcome('b', 'error')])), 'fail');
  t.equal(actualVerdict(fakeResult([outcome('a', 'timeout')])), 'fail');
  t.equal(actualVerdict(fakeResult([outcome('a', 'skipped'), outcome('b', 'skipped')])), 'inconclusive');
});

t.test('the matrix counts failing fixtures per family and tag', async (t) => {
  const entry: CatalogEntry = { name: 'buggy-example', description: 'x', caughtBy: 'y', expected: 'fail', module: './none.js' };
  const report: EntryReport = {
    entry,
    actual: 'fail',
    met: true,
    seconds: 1,
    result: fakeResult([
      outcome('a', 'fail', 'normal', ['dilated']),
      outcome('b', 'fail', 'normal', ['grouped']),
      outcome('c', 'pass', 'exact', ['dilated']),
      outcome('d', 'skipped', 'wide', ['dilated']),
    ]),
  };
  const text = formatMatrix([report]);
  const lines = text.split('\n');
  const header = lines[0].split(/\s+/);
  const row = lines[2].split(/\s+/);
  // Families present: exact (1 run, 0 failing -> '.'), normal (2 failing), wide (only skipped -> '-').
  t.same(
    ['exact', 'normal', 'wide'].map((family) => row[header.indexOf(family)]),
    ['.', '2', '-'],
  );
  t.equal(row[header.indexOf('failing/run')], '2/3');
  const tagHeader = lines[4].split(/\s+/);
  const tagRow = lines[6].split(/\s+/);
  t.equal(tagRow[tagHeader.indexOf('dilated')], '1', 'one failing dilated fixture');
  t.equal(tagRow[tagHeader.indexOf('grouped')], '1');
});

/**
 * The bundled naive adapter's whole-corpus run is `.ci/run`'s step "bundled naive adapter
 * passes the corpus" (the CLI, as a user runs it), so it is not run a second time here.
 */
const RUN_BY_CI_STEP = new Set(['naive-float32']);
/**
 * Started first, so that the two entries running at a time end together: the transform
 * implementations take ~55-80 s each on the whole corpus (on the shared 2-core machine), the
 * others 8-30 s.
 */
const SLOWEST = ['fft-radix2', 'winograd-f4x4-3x3', 'winograd-f2x2-3x3'];

t.test('every correct implementation passes every fixture it declares', async (t) => {
  const fixturesDir = await corpusDir(() => t.testdir());
  const correct = CATALOG.filter((entry) => entry.expected === 'pass');
  t.same(
    [...RUN_BY_CI_STEP, ...SLOWEST].filter((name) => !correct.some((entry) => entry.name === name)),
    [],
    'the entries named here are correct entries of the catalog',
  );
  const rank = (entry: CatalogEntry): number => (SLOWEST.includes(entry.name) ? SLOWEST.indexOf(entry.name) : SLOWEST.length);
  const entries = correct.filter((entry) => !RUN_BY_CI_STEP.has(entry.name)).sort((a, b) => rank(a) - rank(b));
  const reports = await runCatalog(entries, { fixturesDir, concurrency: 2, timeoutMs: SLOW_MACHINE_TIMEOUT_MS });
  for (const report of reports) {
    const outcomes = report.result?.outcomes ?? [];
    const bad = outcomes.filter((item) => item.status !== 'pass' && item.status !== 'skipped');
    t.equal(report.actual, 'pass', `${report.entry.name} passes`, { problem: report.problem, bad: bad.slice(0, 3) });
    t.ok(outcomes.filter((item) => item.status === 'pass').length > 0, `${report.entry.name} passed some fixtures`);
    t.same(likelyCauses(outcomes), [], `${report.entry.name}: no likely cause`);
  }
  t.comment(formatMatrix(reports));
});
