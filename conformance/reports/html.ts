/**
 * The --html report: one self-contained file (inline CSS and SVG, no script, no
 * network) with the run's summary, the likely cause, and for each failing
 * fixture its parameters, repro line and one heat map per failing output of the
 * error in bound units: dx one H x W grid per (n, c) plane, dw one KH x KW grid
 * per (o, i), db bars. A padding bug shows as a border band, an unread tail as the
 * last rows, a stride bug as a lattice.
 *
 * Colours: elements within the bound go from white (0) to pale blue (1 bound);
 * failing ones from orange (just over) to dark red (10^6 bounds and more, log
 * scale); a non-finite mismatch is purple. Maps need the run's error maps
 * (runConformance with errorMaps: true); at most MAX_MAPPED_FIXTURES fixtures
 * get maps, and each map at most MAX_PLANES planes.
 */
import { writeFileAtomic } from '../../src/atomic-write.js';
import type { Outcome, OutputName } from '../../src/types.js';
import { likelyCauses, type LikelyCause } from '../diagnosis/rank.js';
import type { ErrorMap, RunResult } from '../run.js';
import { summaryLine } from './console.js';
import { describeGeometry, describeOutcome, reproCommand } from './describe.js';

export const MAX_MAPPED_FIXTURES = 40;
export const MAX_PLANES = 12;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The colour of one element: its error in bound units and whether it fails. */
export function errorColour(errorInBounds: number, failed: boolean): string {
  if (!Number.isFinite(errorInBounds)) return '#6a1b9a';
  if (!failed) {
    // White to pale blue over [0, 1] bound.
    const t = Math.min(1, Math.max(0, errorInBounds));
    const channel = (from: number, to: number) => Math.round(from + (to - from) * t);
    return `rgb(${channel(255, 170)},${channel(255, 200)},${channel(255, 240)})`;
  }
  // Orange (hue 40) at 1 bound to dark red (hue 0, darker) at 10^6 bounds, log scale.
  const t = Math.min(1, Math.max(0, Math.log10(Math.max(1, errorInBounds)) / 6));
  return `hsl(${Math.round(40 - 40 * t)},90%,${Math.round(55 - 25 * t)}%)`;
}

/** One H x W grid as SVG. */
function gridSvg(map: ErrorMap, offset: number, rows: number, columns: number, label: string): string {
  const cell = Math.max(3, Math.min(16, Math.floor(160 / Math.max(rows, columns))));
  const rects: string[] = [];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const index = offset + row * columns + column;
      rects.push(`<rect x="${column * cell}" y="${row * cell}" width="${cell}" height="${cell}" fill="${errorColour(map.errorInBounds[index], map.failed[index] === 1)}"/>`);
    }
  }
  const width = columns * cell;
  const height = rows * cell;
  return (
    `<figure class="plane"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${rects.join('')}</svg>` +
    `<figcaption>${escapeHtml(label)}</figcaption></figure>`
  );
}

/** db as bars: height log10(1 + error in bounds), capped at 10^6 bounds. */
function barsSvg(map: ErrorMap): string {
  const count = map.errorInBounds.length;
  const bar = Math.max(4, Math.min(24, Math.floor(320 / count)));
  const height = 80;
  const bars: string[] = [];
  for (let o = 0; o < count; o++) {
    const value = map.errorInBounds[o];
    const scaled = Number.isFinite(value) ? Math.min(1, Math.log10(1 + value) / 6) : 1;
    const barHeight = Math.max(1, Math.round(scaled * height));
    bars.push(`<rect x="${o * bar}" y="${height - barHeight}" width="${bar - 1}" height="${barHeight}" fill="${errorColour(value, map.failed[o] === 1)}"/>`);
  }
  return `<figure class="plane"><svg xmlns="http://www.w3.org/2000/svg" width="${count * bar}" height="${height}" viewBox="0 0 ${count * bar} ${height}">${bars.join('')}</svg><figcaption>o = 0..${count - 1}</figcaption></figure>`;
}

/** The heat map of one output: a grid per leading-index plane (dx: (n, c); dw: (o, i)), or bars for db. */
export function errorMapHtml(output: OutputName, map: ErrorMap): string {
  const failing = map.failed.reduce((sum, flag) => sum + flag, 0);
  const title = `${output} [${map.shape.join(', ')}]: ${failing} of ${map.failed.length} elements fail`;
  let body: string;
  if (output === 'db') body = barsSvg(map);
  else {
    const [first, second, rows, columns] = map.shape;
    const names = output === 'dx' ? ['n', 'c', 'H x W'] : ['o', 'i', 'KH x KW'];
    const planes: string[] = [];
    const total = first * second;
    for (let plane = 0; plane < Math.min(total, MAX_PLANES); plane++) {
      const a = Math.floor(plane / second);
      const b = plane % second;
      planes.push(gridSvg(map, plane * rows * columns, rows, columns, `${names[0]}=${a} ${names[1]}=${b} (${names[2]})`));
    }
    if (total > MAX_PLANES) planes.push(`<p class="more">${total - MAX_PLANES} more planes not drawn</p>`);
    body = planes.join('');
  }
  return `<div class="error-map" data-output="${output}"><h4>${escapeHtml(title)}</h4><div class="planes">${body}</div></div>`;
}

function causesHtml(causes: readonly LikelyCause[]): string {
  if (causes.length === 0) return '<p>No likely cause: nothing failed, or no known signature fits.</p>';
  const items = causes.map(
    (cause) => `<li><strong>${escapeHtml(cause.title)}</strong> (fit ${cause.score.toFixed(2)}): ${escapeHtml(cause.evidence)}<br><span class="hint">check: ${escapeHtml(cause.hint)}</span></li>`,
  );
  return `<ol>${items.join('')}</ol>`;
}

function fixtureHtml(outcome: Outcome, result: RunResult, withMaps: boolean): string {
  const detail = result.details?.[outcome.id];
  const layouts = { layout: result.capabilities.layout, filterLayout: result.capabilities.filterLayout };
  const parts = [`<section class="fixture" id="${escapeHtml(outcome.id)}"><h3>${escapeHtml(outcome.status.toUpperCase())} ${escapeHtml(outcome.id)}</h3>`];
  if (detail !== undefined) parts.push(`<p class="params">${escapeHtml(`${describeGeometry(detail)}, ${detail.rule} rule, padding ${detail.padding.mode}`)}</p>`);
  parts.push(`<p>${escapeHtml(describeOutcome(outcome, { detail, layouts }))}</p>`);
  parts.push(`<pre class="repro">${escapeHtml(reproCommand(result, outcome.id))}</pre>`);
  if (withMaps && outcome.status === 'fail' && detail?.errorMaps !== undefined) {
    for (const name of outcome.failing) {
      if (name === 'y' || name === 'gradcheck') continue;
      const map = detail.errorMaps[name];
      if (map !== undefined) parts.push(errorMapHtml(name, map));
    }
  }
  parts.push('</section>');
  return parts.join('');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.4em}h3{margin:.2em 0;font-family:monospace}h4{margin:.4em 0;font-weight:600}
.summary{font-weight:600}.fail{color:#b71c1c}.ok{color:#1b5e20}
.fixture{border-top:1px solid #ccc;padding:.6em 0}
.params,.repro{font-family:monospace;font-size:12px;background:#f5f5f5;padding:.3em .5em;white-space:pre-wrap}
.planes{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}
.plane{margin:0}.plane svg{border:1px solid #999;display:block}
figcaption{font-size:11px;color:#555}.hint{color:#555}.more{font-size:12px;color:#555}
.legend span{display:inline-block;padding:0 .5em;margin-right:.3em;font-size:12px}
`;

/** The report as one HTML document. */
export function formatHtmlReport(result: RunResult): string {
  const { capabilities, corpus } = result;
  const causes = likelyCauses(result.outcomes);
  const failing = result.outcomes.filter((outcome) => outcome.status !== 'pass' && outcome.status !== 'skipped');
  const clean = failing.length === 0 && result.counts.pass > 0;
  const sections = failing.map((outcome, index) => fixtureHtml(outcome, result, index < MAX_MAPPED_FIXTURES));
  const legend = [
    [errorColour(0, false), '0'],
    [errorColour(1, false), '1 bound (passes)'],
    [errorColour(1.5, true), 'just over'],
    [errorColour(1e3, true), '10^3 bounds'],
    [errorColour(1e6, true), '10^6+'],
    [errorColour(Infinity, true), 'non-finite'],
  ]
    .map(([colour, text]) => `<span style="background:${colour}">${escapeHtml(text)}</span>`)
    .join('');
  const determinism =
    result.determinism === null
      ? ''
      : result.determinism.nondeterministic.length === 0
        ? `<p>Determinism: every output bitwise identical over ${result.determinism.repeat} calls.</p>`
        : `<p class="fail">Not deterministic over ${result.determinism.repeat} calls: ${escapeHtml(result.determinism.nondeterministic.map((item) => `${item.id} (${item.outputs.join(', ')})`).join(', '))}</p>`;
  const more = failing.length > MAX_MAPPED_FIXTURES ? `<p>Maps drawn for the first ${MAX_MAPPED_FIXTURES} of ${failing.length} failing fixtures.</p>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(`conformance: ${capabilities.name}`)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(`Conv2d backward conformance: ${capabilities.name}`)}</h1>
<p>${escapeHtml(`${capabilities.layout}/${capabilities.filterLayout}, dtypes ${capabilities.dtypes.join(' ')}, outputs ${capabilities.outputs.join(' ')}; corpus ${corpus.corpusVersion} (digest ${corpus.digest.slice(0, 12)}), ${result.selection.selected} of ${corpus.fixtureCount} fixtures selected`)}</p>
<p class="summary ${clean ? 'ok' : 'fail'}">${escapeHtml(summaryLine(result.counts))}</p>
${determinism}
<h2>Likely cause</h2>
${causesHtml(causes)}
<h2>Failing fixtures</h2>
<p class="legend">error in bound units: ${legend}</p>
${more}
${sections.join('\n')}
</body></html>
`;
}

export async function writeHtmlReport(path: string, result: RunResult): Promise<void> {
  await writeFileAtomic(path, formatHtmlReport(result));
}
