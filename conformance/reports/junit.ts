/**
 * The --junit report: JUnit XML as CI systems read it. One <testsuite> per data
 * family, one <testcase> per fixture (classname conv2d-backward.<family>); a
 * failing fixture has a <failure>, an error / timeout / missing one an <error>
 * (type says which), a skipped one <skipped>. Text is XML-escaped, and
 * characters XML 1.0 cannot hold are replaced by U+FFFD.
 */
import { writeFileAtomic } from '../../src/atomic-write.js';
import { checkReportDestination } from './destination.js';
import type { Outcome } from '../../src/types.js';
import type { RunResult } from '../run.js';
import { compareIds } from '../shard.js';
import { describeOutcome, reproCommand } from './describe.js';

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
  const summary = describeOutcome(outcome);
  const repro = `repro: ${reproCommand(result, outcome.id)}`;
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

export function formatJunitReport(result: RunResult): string {
  const families = new Map<string, Outcome[]>();
  for (const outcome of result.outcomes) {
    const list = families.get(outcome.family) ?? [];
    list.push(outcome);
    families.set(outcome.family, list);
  }
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = countSuite(result.outcomes);
  lines.push(`<testsuites name="${escapeXml(`conv2d-backward-conformance: ${result.capabilities.name}`)}" ${attributes({ ...total, time: result.seconds })}>`);
  for (const [family, outcomes] of [...families].sort(([a], [b]) => compareIds(a, b))) {
    lines.push(`  <testsuite name="${escapeXml(family)}" ${attributes(countSuite(outcomes))}>`);
    for (const outcome of outcomes) lines.push(testcase(outcome, result));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

export async function writeJunitReport(path: string, result: RunResult): Promise<void> {
  checkReportDestination(path, result.corpus.dir, '--junit');
  await writeFileAtomic(path, formatJunitReport(result));
}
