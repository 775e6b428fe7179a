/**
 * The --junit report: JUnit XML as CI systems read it. One <testsuite> per data
 * family, one <testcase> per fixture (classname conv2d-backward.<family>); a
 * failing fixture has a <failure>, an error / timeout / missing one an <error>
 * (type says which), a skipped one <skipped>. Text is XML-escaped, and
 * characters XML 1.0 cannot hold are replaced by U+FFFD.
 *
 * A last <testsuite name="diagnosis"> carries the likely causes as <properties>
 * (likely-cause.1, ...) and, with --repeat N, a testcase `determinism` that fails
 * when some output was not bitwise identical over the N calls.
 */
import { writeFileAtomic } from '../../src/atomic-write.js';
import { checkReportDestination } from './destination.js';
import type { Outcome } from '../../src/types.js';
import type { RunResult } from '../run.js';
import { compareIds } from '../shard.js';
import { likelyCauses } from '../diagnosis/rank.js';
import { describeGeometry, describeOutcome, reproCommand } from './describe.js';

// Characters outside XML 1.0's Char production: C0 controls but tab/newline/return, U+FFFE/U+FFFF, lone surrogates.
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Escape text for XML content and attribute values (double-quoted). */
export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;');
}

function seconds(value: number): string {
  return value.toFixed(6);
}

function outcomeSeconds(outcome: Outcome): number {
  return outcome.status === 'pass' || outcome.status === 'fail' ? outcome.seconds : 0;
}

function testcase(outcome: Outcome, result: RunResult): string {
  const open = `    <testcase classname="${escapeXml(`conv2d-backward.${outcome.family}`)}" name="${escapeXml(outcome.id)}" time="${seconds(outcomeSeconds(outcome))}"`;
  const body: string[] = [];
  const detail = result.details?.[outcome.id];
  const summary = describeOutcome(outcome, { detail, layouts: { layout: result.capabilities.layout, filterLayout: result.capabilities.filterLayout } });
  const repro = `${detail === undefined ? '' : `fixture: ${describeGeometry(detail)}\n`}repro: ${reproCommand(result, outcome.id)}`;
  switch (outcome.status) {
    case 'pass':
      break;
    case 'fail':
      body.push(`      <failure message="${escapeXml(summary)}" type="fail">${escapeXml(`${summary}\n${repro}`)}</failure>`);
      break;
    case 'error':
    case 'timeout':
    case 'missing': {
      const detail = outcome.status === 'error' && outcome.detail !== undefined ? `\n${outcome.detail}` : '';
      body.push(`      <error message="${escapeXml(summary)}" type="${outcome.status}">${escapeXml(`${summary}${detail}\n${repro}`)}</error>`);
      break;
    }
    case 'skipped':
      body.push(`      <skipped message="${escapeXml(outcome.reason)}"/>`);
      break;
  }
  if (outcome.notes !== undefined && outcome.notes.length > 0) {
    body.push(`      <system-out>${escapeXml(outcome.notes.map((note) => `note: ${note}`).join('\n'))}</system-out>`);
  }
  return body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`;
}

interface SuiteCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: number;
}

function countSuite(outcomes: readonly Outcome[]): SuiteCounts {
  const counts = { tests: outcomes.length, failures: 0, errors: 0, skipped: 0, time: 0 };
  for (const outcome of outcomes) {
    if (outcome.status === 'fail') counts.failures++;
    else if (outcome.status === 'skipped') counts.skipped++;
    else if (outcome.status !== 'pass') counts.errors++;
    counts.time += outcomeSeconds(outcome);
  }
  return counts;
}

function attributes(counts: SuiteCounts): string {
  return `tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" time="${seconds(counts.time)}"`;
}

/** The diagnosis suite: likely causes as properties, the determinism probe as a testcase (with --repeat). */
function diagnosisSuite(result: RunResult): { xml: string[]; counts: SuiteCounts } {
  const properties = likelyCauses(result.outcomes).map(
    (cause, rank) => `      <property name="likely-cause.${rank + 1}" value="${escapeXml(`${cause.title} (fit ${cause.score.toFixed(2)}): ${cause.evidence}`)}"/>`,
  );
  const counts: SuiteCounts = { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0 };
  const cases: string[] = [];
  if (result.determinism !== null) {
    const { repeat, nondeterministic } = result.determinism;
    counts.tests = 1;
    properties.push(`      <property name="determinism.repeat" value="${repeat}"/>`);
    const open = `    <testcase classname="conv2d-backward.diagnosis" name="determinism" time="${seconds(0)}"`;
    if (nondeterministic.length === 0) cases.push(`${open}/>`);
    else {
      counts.failures = 1;
      const message = `${nondeterministic.length} fixture(s) not bitwise identical over ${repeat} calls`;
      const body = nondeterministic.map((item) => `${item.id}: ${item.outputs.join(', ')}`).join('\n');
      cases.push(`${open}>\n      <failure message="${escapeXml(message)}" type="nondeterministic">${escapeXml(body)}</failure>\n    </testcase>`);
    }
  }
  if (properties.length === 0 && cases.length === 0) return { xml: [], counts };
  const xml = [`  <testsuite name="diagnosis" ${attributes(counts)}>`];
  if (properties.length > 0) xml.push('    <properties>', ...properties, '    </properties>');
  xml.push(...cases, '  </testsuite>');
  return { xml, counts };
}

export function formatJunitReport(result: RunResult): string {
  const families = new Map<string, Outcome[]>();
  for (const outcome of result.outcomes) {
    const list = families.get(outcome.family) ?? [];
    list.push(outcome);
    families.set(outcome.family, list);
  }
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const diagnosis = diagnosisSuite(result);
  const fixtures = countSuite(result.outcomes);
  const total = { ...fixtures, tests: fixtures.tests + diagnosis.counts.tests, failures: fixtures.failures + diagnosis.counts.failures };
  lines.push(`<testsuites name="${escapeXml(`conv2d-backward-conformance: ${result.capabilities.name}`)}" ${attributes({ ...total, time: result.seconds })}>`);
  for (const [family, outcomes] of [...families].sort(([a], [b]) => compareIds(a, b))) {
    lines.push(`  <testsuite name="${escapeXml(family)}" ${attributes(countSuite(outcomes))}>`);
    for (const outcome of outcomes) lines.push(testcase(outcome, result));
    lines.push('  </testsuite>');
  }
  lines.push(...diagnosis.xml);
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

export async function writeJunitReport(path: string, result: RunResult): Promise<void> {
  checkReportDestination(path, result.corpus.dir, '--junit');
  await writeFileAtomic(path, formatJunitReport(result));
}
