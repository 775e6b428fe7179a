/**
 * Reports from a hand-made RunResult holding every status and the awkward values
 * (NaN, Infinity, -0, XML-hostile text): the JSON report validates against
 * schema/report.schema.json (which must equal the TypeScript schema object), the
 * JUnit XML parses with a real XML parser (python3's ElementTree), and the
 * console report ends with the counts line.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { formatConsoleReport, shouldColor, summaryLine } from '../../conformance/reports/console.js';
import { formatValue } from '../../conformance/reports/describe.js';
import { buildJsonReport, writeJsonReport } from '../../conformance/reports/json.js';
import { escapeXml, formatJunitReport, writeJunitReport } from '../../conformance/reports/junit.js';
import { likelyCauses } from '../../conformance/diagnosis/rank.js';
import { exitCodeFor, type RunResult } from '../../conformance/run.js';
import { decodeReportNumber, encodeReportNumber } from '../../src/report-types.js';
import { reportSchema, validateReport } from '../../src/schemas/report-schema.js';
import type { OutputMetrics, Outcome } from '../../src/types.js';
import { REPO_ROOT } from './run-cli.js';

const HOSTILE = `bad <tag> & "quotes" 'apostrophes' \u0001control ]]> end`;

function metrics(overrides: Partial<OutputMetrics>): OutputMetrics {
  return {
    output: 'dx',
    elements: 8,
    failingElements: 0,
    maxErrorInBounds: 0,
    maxErrorInTypical: 0,
    maxUlp: 0,
    maxAbsError: 0,
    maxRelError: 0,
    worst: null,
    grade: 'exact',
    ...overrides,
  };
}

const base = { family: 'normal' as const, dtype: 'float32' as const, tags: ['plain', 'strided'] };
const outcomes: Outcome[] = [
  { ...base, id: 'a-pass', status: 'pass', grade: 'tight', outputs: [metrics({ grade: 'tight', maxErrorInBounds: 0.25, maxUlp: 1 })], seconds: 0.002 },
  {
    ...base,
    id: 'b-fail',
    status: 'fail',
    failing: ['dx'],
    seconds: 0.001,
    outputs: [
      metrics({
        failingElements: 1,
        maxErrorInBounds: Infinity,
        maxErrorInTypical: Infinity,
        maxUlp: Infinity,
        maxAbsError: Infinity,
        maxRelError: Infinity,
        grade: null,
        worst: { index: [0, 1, 0, 1], flatIndex: 5, expected: -0.5, got: NaN, bound: 0 },
      }),
    ],
  },
  { ...base, family: 'exact', id: 'c-error', status: 'error', message: HOSTILE, detail: 'stack line 1\nstack line 2' },
  { ...base, family: 'exact', id: 'd-timeout', status: 'timeout', timeoutMs: 1500 },
  { ...base, family: 'wide', id: 'e-missing', status: 'missing', message: 'no replayed output dx.npy in /replay/e-missing' },
  { ...base, family: 'wide', id: 'f-skipped', status: 'skipped', reason: 'unsupported: dilation', notes: ['a note'] },
];

const result: RunResult = {
  impl: './my adapter.js',
  capabilities: { name: 'test <adapter>', layout: 'NHWC', filterLayout: 'HWIO', dtypes: ['float32'], supports: 'function', outputs: ['dx', 'dw', 'db'] },
  corpus: { dir: '/corpus', bundled: false, corpusVersion: '1.0.0', digest: 'a'.repeat(64), fixtureCount: 10 },
  selection: { filter: 'family!=zeros', only: null, shard: { index: 1, count: 2 }, selected: 6, notSelected: 4 },
  timeoutMs: 1500,
  loadTimeoutMs: 300000,
  jobs: 2,
  outcomes,
  counts: { pass: 1, fail: 1, error: 1, timeout: 1, missing: 1, skipped: 1 },
  seconds: 1.5,
  adapterSeconds: 0.003,
  details: {
    'b-fail': {
      params: { stride: [2, 1], dilation: [1, 1], pads: { top: 1, bottom: 0, left: 1, right: 1 }, groups: 1 },
      shapes: { x: [1, 2, 2, 2], w: [3, 2, 1, 1], dy: [1, 3, 2, 2], dx: [1, 2, 2, 2], dw: [3, 2, 1, 1], db: [3] },
      padding: { mode: 'EXPLICIT' },
      rule: 'bound',
    },
  },
  stopped: null,
  determinism: { repeat: 3, nondeterministic: [{ id: 'a-pass', outputs: ['dw'] }] },
  startupSeconds: 0.2,
};

t.test('report numbers: non-finite values become strings and come back', async (t) => {
  for (const value of [1.5, -2, Infinity, -Infinity]) t.equal(decodeReportNumber(encodeReportNumber(value)), value);
  t.ok(Number.isNaN(decodeReportNumber(encodeReportNumber(NaN))));
  t.equal(encodeReportNumber(NaN), 'NaN');
  t.equal(encodeReportNumber(-Infinity), '-Infinity');
  t.ok(Object.is(encodeReportNumber(-0), 0), '-0 is written as 0');
});

t.test('JSON report: validates, encodes non-finite numbers, round-trips through JSON', async (t) => {
  const report = buildJsonReport(result, { createdAt: new Date(0) });
  t.equal(report.exitCode, 1);
  t.equal(report.createdAt, '1970-01-01T00:00:00.000Z');
  const failing = report.outcomes.find((outcome) => outcome.id === 'b-fail')!;
  t.same(failing.outputs?.[0].worst, { index: [0, 1, 0, 1], flatIndex: 5, expected: -0.5, got: 'NaN', bound: 0 });
  t.equal(failing.outputs?.[0].maxUlp, 'Infinity');
  t.same(report.determinism, { repeat: 3, nondeterministic: [{ id: 'a-pass', outputs: ['dw'] }] }, 'the determinism result');
  t.equal(report.stopped, null);
  // One failing pair (b-fail's dx) among two scored ones (a-pass's dx, b-fail's dx), both fixtures
  // tagged 'strided': a signature covering dx on strided fixtures explains it with recall 1, precision 1/2.
  t.same(report.likelyCauses, likelyCauses(result.outcomes), 'the report carries the ranking');
  t.equal(report.likelyCauses[0]?.score, 0.5);
  t.equal(report.likelyCauses[0]?.recall, 1);
  const text = JSON.stringify(report);
  t.notMatch(text, /:\s*(NaN|Infinity|-Infinity)[,}]/, 'no bare non-finite numbers (JSON.stringify would write null)');
  t.same(validateReport(JSON.parse(text), 'round trip'), report);

  const path = join(t.testdir(), 'report.json');
  await writeJsonReport(path, result);
  t.equal(validateReport(JSON.parse(await readFile(path, 'utf8')), path).outcomes.length, 6);
});

t.test('JSON report schema: fields required by status, unknown fields refused', async (t) => {
  const report = buildJsonReport(result);
  const broken = JSON.parse(JSON.stringify(report));
  delete broken.outcomes[2].message;
  broken.outcomes[3].extra = true;
  t.throws(() => validateReport(broken, 'broken.json'), {
    code: 'E_SCHEMA',
    message: /broken\.json: report does not match its schema .*\n {2}\/outcomes\/2: missing property "message"\n(.|\n)*\/outcomes\/3: unexpected property "extra"/,
  });
});

t.test('schema/report.schema.json is the emitted form of the TypeScript schema', async (t) => {
  const committed = await readFile(join(REPO_ROOT, 'schema', 'report.schema.json'), 'utf8');
  t.equal(committed, `${JSON.stringify(reportSchema, null, 2)}\n`, 'regenerate schema/report.schema.json from src/schemas/report-schema.ts');
});

t.test('JUnit: well-formed XML (python3 ElementTree), suites per family, escaped text', async (t) => {
  const xml = formatJunitReport(result);
  const path = join(t.testdir(), 'junit.xml');
  await writeJunitReport(path, result);
  t.equal(await readFile(path, 'utf8'), xml);
  const script = [
    'import json, sys, xml.etree.ElementTree as ET',
    'root = ET.parse(sys.argv[1]).getroot()',
    'suites = [[s.get("name"), s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")] for s in root.findall("testsuite")]',
    'cases = {c.get("name"): [child.tag for child in c] for c in root.iter("testcase")}',
    'error = root.find(".//testcase[@name=\'c-error\']/error")',
    'properties = {p.get("name"): p.get("value") for p in root.findall(".//testsuite[@name=\'diagnosis\']/properties/property")}',
    'print(json.dumps({"root": [root.tag, root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")], "suites": suites, "cases": cases, "message": error.get("message"), "type": error.get("type"), "properties": properties}))',
  ].join('\n');
  const parsed = JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })) as {
    root: string[];
    suites: string[][];
    cases: Record<string, string[]>;
    message: string;
    type: string;
    properties: Record<string, string>;
  };
  // 6 fixtures and the determinism testcase, which fails (a-pass's dw differed between calls).
  t.same(parsed.root, ['testsuites', '7', '2', '3', '1']);
  t.same(parsed.suites, [
    ['exact', '2', '0', '2', '0'],
    ['normal', '2', '1', '0', '0'],
    ['wide', '2', '0', '1', '1'],
    ['diagnosis', '1', '1', '0', '0'],
  ]);
  t.same(parsed.cases, {
    'c-error': ['error'],
    'd-timeout': ['error'],
    'a-pass': [],
    'b-fail': ['failure'],
    'e-missing': ['error'],
    'f-skipped': ['skipped', 'system-out'],
    determinism: ['failure'],
  });
  t.equal(parsed.message, HOSTILE.replace('\u0001', '\ufffd'), 'the message survives escaping; the control character becomes U+FFFD');
  t.equal(parsed.type, 'error');
  // The diagnosis suite carries the likely causes (ranked as in the JSON report) and the --repeat count.
  const causes = likelyCauses(result.outcomes);
  t.ok(causes.length > 0, 'the fixture set has a likely cause');
  t.same(
    parsed.properties,
    {
      ...Object.fromEntries(causes.map((cause, rank) => [`likely-cause.${rank + 1}`, `${cause.title} (fit ${cause.score.toFixed(2)}): ${cause.evidence}`])),
      'determinism.repeat': '3',
    },
    'likely causes and the determinism probe as properties',
  );
  t.equal(escapeXml('a\ud800b'), 'a\ufffdb', 'a lone surrogate is replaced');
});

t.test('console: one block per non-passing fixture with a repro, tables, the counts line last', async (t) => {
  const text = formatConsoleReport(result, { color: false, launcher: 'conformance-runner' });
  // The adapter is NHWC: corpus index (n, c, h, w) = (0, 1, 0, 1) is written n=0 h=0 w=1 c=1.
  t.ok(
    text.includes(
      'FAIL    b-fail (x 1x2x2x2 w 3x2x1x1 stride 2,1 dilation 1,1 pads t1 b0 l1 r1 groups 1)  ' +
        'dx: a non-finite value where a finite one is expected at n=0 h=0 w=1 c=1: expected -0.5, got NaN (1 of 8 elements fail)\n',
    ),
    text,
  );
  t.ok(text.includes("        repro: conformance-runner --impl './my adapter.js' --fixtures /corpus --timeout 1500 --only b-fail\n"));
  t.ok(formatConsoleReport(result, { color: false, launcher: 'npx conformance-runner' }).includes('repro: npx conformance-runner --impl'), 'the launcher starts the repro line');
  t.ok(text.includes(`ERROR   c-error  ${HOSTILE}\n`));
  t.ok(text.includes("TIMEOUT d-timeout  no answer within 1500 ms (the adapter's process was killed)\n"));
  t.ok(text.includes('MISSING e-missing  no replayed output dx.npy in /replay/e-missing\n'));
  // Failure share: exact 2/2, wide 1/1 (the skipped one does not run), normal 1/2.
  t.match(text, /Families with failures:\n {2}family +failing +ran +share +skipped\n {2}exact +2 +2 +100% +0\n {2}wide +1 +1 +100% +1\n {2}normal +1 +2 +50% +0\n/);
  t.match(text, /Tags with failures \(highest share first\):\n {2}tag +failing +ran +share +skipped\n {2}plain +4 +5 +80% +1\n {2}strided +4 +5 +80% +1\n/);
  t.match(text, /Not deterministic: 1 fixture gave different bits over 3 calls\n {2}a-pass: dw\n/);
  t.match(text, /Skipped:\n +1 {2}unsupported: dilation\n/);
  t.ok(text.endsWith('1 passed, 1 failed, 1 skipped, 3 errors (1 error, 1 timeout, 1 missing)\n'));
  t.notMatch(text, /\u001b\[/, 'no colour when color is false');
  t.match(formatConsoleReport(result, { color: true }), /\u001b\[31mFAIL/, 'ANSI colour when asked');
});

t.test('colour: FORCE_COLOR, else a TTY without NO_COLOR', async (t) => {
  t.equal(shouldColor({ isTTY: true }, {}), true);
  t.equal(shouldColor({ isTTY: false }, {}), false);
  t.equal(shouldColor({}, {}), false);
  t.equal(shouldColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  t.equal(shouldColor({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count (no-color.org)');
  t.equal(shouldColor({ isTTY: false }, { FORCE_COLOR: '1' }), true, 'FORCE_COLOR colours a pipe');
  t.equal(shouldColor({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' }), true, 'FORCE_COLOR wins over NO_COLOR');
  t.equal(shouldColor({ isTTY: true }, { FORCE_COLOR: '0' }), false, 'FORCE_COLOR=0 turns colour off');
  t.equal(shouldColor({ isTTY: true }, { FORCE_COLOR: 'false' }), false);
});

t.test('exit codes and the counts line', async (t) => {
  const counts = (pass: number, others: Partial<RunResult['counts']> = {}) => ({ counts: { pass, fail: 0, error: 0, timeout: 0, missing: 0, skipped: 0, ...others } });
  t.equal(exitCodeFor(counts(3)), 0);
  t.equal(exitCodeFor(counts(3, { skipped: 4 })), 0);
  t.equal(exitCodeFor(counts(0, { skipped: 4 })), 1, 'nothing ran');
  t.equal(exitCodeFor(counts(0)), 1);
  for (const status of ['fail', 'error', 'timeout', 'missing'] as const) t.equal(exitCodeFor(counts(3, { [status]: 1 })), 1, status);
  t.equal(summaryLine({ pass: 1, fail: 0, error: 0, timeout: 0, missing: 0, skipped: 0 }), '1 passed, 0 failed, 0 skipped, 0 errors (0 errors, 0 timeouts, 0 missing)');
});

t.test('values print as the shortest decimal of their dtype', async (t) => {
  t.equal(formatValue(Math.fround(0.1), 'float32'), '0.1');
  t.equal(formatValue(0.1, 'float64'), '0.1');
  t.equal(formatValue(-0, 'float32'), '-0');
  t.equal(formatValue(NaN, 'float16'), 'NaN');
  // 0.0999755859375 is the float16 nearest 0.1, so '0.1' reads back as it.
  t.equal(formatValue(0.0999755859375, 'float16'), '0.1');
  // 1 + 2^-10: float16 spacing at 1 is 2^-10, so '1.001' (not '1') is the shortest that reads back.
  t.equal(formatValue(1 + 2 ** -10, 'float16'), '1.001');
});
