/**
 * Which self-test bugs a wider precision class still catches. For each buggy catalog entry
 * and each class, the entry's outputs on the corpus fixtures are scored under that class
 * (scoreFixture with `precision`):
 *  - fpmath tf32 / bf16: the bug injected into the fpmath implementation (inputs rounded to
 *    the format, then the buggy kernel), as conformance/self-test/implementations/fpmath-injected.ts;
 *  - winograd F(4x4,3x3) and fft: the buggy direct kernel's outputs judged by the class's
 *    (wider) bound, on the fixtures where the class applies (3x3, stride 1, dilation 1 for
 *    Winograd; finite inputs for both). A Winograd or FFT implementation with the same bug
 *    deviates by the bug plus its own round-off, which that bound admits.
 * Run: node dist/conformance/self-test/class-report.js [--filter EXPR]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromFloat64Array, toFloat64Array } from '../../src/dtype.js';
import { loadFixture } from '../../src/fixture-io.js';
import { loadManifest } from '../../src/manifest.js';
import { bundledCorpusDir } from '../../src/paths.js';
import { precisionLabel, winogradApplies, type PrecisionClass } from '../../src/precision-class.js';
import type { Adapter, Tensor } from '../../src/types.js';
import { parseFilter, matchesFilter } from '../filter.js';
import { scoreFixture } from '../score.js';
import { CATALOG, catalogModulePath } from './catalog.js';
import { roundToBfloat16 } from './fast-rounding.js';
import { roundToTf32 } from './winograd-kernel.js';

export const REPORT_CLASSES: readonly PrecisionClass[] = [
  { algorithm: 'direct', fpmath: 'strict' },
  { algorithm: 'direct', fpmath: 'tf32' },
  { algorithm: 'direct', fpmath: 'bf16' },
  { algorithm: 'winograd', tile: { output: 4, kernel: 3 }, fpmath: 'strict' },
  { algorithm: 'fft', fpmath: 'strict' },
];

export interface ClassCatch {
  entry: string;
  /** Per class label: fixtures failing / fixtures judged under that class. */
  counts: Record<string, { failing: number; judged: number }>;
}

export async function classCatchReport(options: { fixturesDir?: string; filter?: string } = {}): Promise<ClassCatch[]> {
  const dir = options.fixturesDir ?? bundledCorpusDir();
  const manifest = await loadManifest(dir);
  const filter = options.filter === undefined ? null : parseFilter(options.filter);
  const all = await Promise.all(manifest.fixtures.map((entry) => loadFixture(join(dir, entry.path))));
  const fixtures = all.filter((fixture) => filter === null || matchesFilter(filter, fixture.meta));
  const report: ClassCatch[] = [];
  for (const entry of CATALOG.filter((item) => item.expected === 'fail')) {
    const counts: ClassCatch['counts'] = {};
    for (const precision of REPORT_CLASSES) {
      // A fresh adapter per class: the life-cycle bugs keep state across the calls of one run, as in a real run.
      const { default: adapter } = (await import(`${pathToFileURL(catalogModulePath(entry)).href}?class=${precisionLabel(precision)}`)) as { default: Adapter };
      const rounding = precision.fpmath === 'tf32' ? roundToTf32 : precision.fpmath === 'bf16' ? roundToBfloat16 : null;
      const prepare = (tensor: Tensor): Tensor =>
        rounding === null ? tensor : { ...tensor, data: fromFloat64Array(toFloat64Array(tensor.data, tensor.dtype).map(rounding), tensor.dtype) };
      let failing = 0;
      let judged = 0;
      for (const fixture of fixtures) {
        const { meta } = fixture;
        if (!(adapter.dtypes ?? ['float32']).includes(meta.dtype)) continue;
        const finite = [fixture.x, fixture.w, fixture.dy].every((tensor) => toFloat64Array(tensor.data, tensor.dtype).every(Number.isFinite));
        if ((precision.algorithm === 'winograd' || precision.algorithm === 'fft') && !finite) continue;
        if (precision.algorithm === 'winograd' && !winogradApplies(precision.tile!, meta.shapes.w, meta.params)) continue;
        let failed: boolean;
        try {
          const outputs = await adapter.conv2dBackward({ x: prepare(fixture.x), w: prepare(fixture.w), dy: prepare(fixture.dy), params: meta.params, id: meta.id });
          const declared = adapter.outputs ?? ['dx', 'dw', 'db'];
          failed = scoreFixture({ fixture, outputs, declared, seconds: 0, precision }).status === 'fail';
        } catch (error) {
          // A bug that makes the kernel or the scoring throw fails the fixture, as the runner's error outcome would.
          process.stderr.write(`${entry.name} ${precisionLabel(precision)} ${meta.id}: ${(error as Error).message}\n`);
          failed = true;
        }
        judged++;
        if (failed) failing++;
      }
      counts[precisionLabel(precision)] = { failing, judged };
    }
    report.push({ entry: entry.name, counts });
  }
  return report;
}

export function formatClassReport(report: readonly ClassCatch[]): string {
  const labels = REPORT_CLASSES.map(precisionLabel);
  const rows = report.map((row) => [row.entry, ...labels.map((label) => `${row.counts[label].failing}/${row.counts[label].judged}`)]);
  const header = ['bug', ...labels];
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  return [line(header), ...rows.map(line), '', 'cells: failing fixtures / fixtures judged under the class (0/n: not caught)'].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--filter');
  const report = await classCatchReport(at > 0 ? { filter: process.argv[at + 1] } : {});
  process.stdout.write(`${formatClassReport(report)}\n`);
}
