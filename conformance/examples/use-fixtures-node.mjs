#!/usr/bin/env node
/**
 * Use the conv2d-backward golden fixtures from plain Node.js (18+), with no code
 * from the conv2d-backward-conformance package: it reads manifest.json, each
 * fixture.json and the .npy files itself, and applies the tolerance rule from
 * fixture.json's numbers.
 *
 *   node use-fixtures-node.mjs [CORPUS_DIR]        (default: $CONV2D_FIXTURES, else ../../fixtures)
 *   CONV2D_FIXTURES_PER_FAMILY=3 node use-fixtures-node.mjs   the first 3 fixtures (by id) of each family
 *
 * Prints one line per failing fixture and a summary; exit status 0 when all pass.
 * Replace `conv2dBackward` below with a call into your implementation (and `conv2dForward`,
 * which is checked against y.npy in fixtures that have it, with yours or with `() => null`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------
// .npy reader: little-endian float16/32/64, C order (what the corpus holds).
// float16 comes back as float64 values; so does bfloat16, which numpy cannot name
// and the corpus stores as its bits ('<u2', the top half of a float32).

export function readNpy(path) {
  const bytes = readFileSync(path);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!/'fortran_order':\s*False/.test(header) || descr === undefined || shapeText === undefined) throw new Error(`${path}: unsupported header ${header}`);
  const shape = shapeText.split(',').filter((size) => size.trim() !== '').map(Number);
  const count = shape.reduce((product, size) => product * size, 1);
  const start = headerStart + headerLength;
  // Copy into a fresh buffer: typed arrays need an aligned offset.
  const data = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + count * Number(descr.slice(2)));
  if (descr === '<f8') return { shape, values: new Float64Array(data) };
  if (descr === '<f4') return { shape, values: Float64Array.from(new Float32Array(data)) };
  if (descr === '<f2') return { shape, values: Float64Array.from(new Uint16Array(data), float16ToNumber) };
  if (descr === '<u2') return { shape, values: Float64Array.from(new Uint16Array(data), bfloat16ToNumber) };
  throw new Error(`${path}: unsupported dtype ${descr}`);
}

function float16ToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function bfloat16ToNumber(bits) {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
}

/** The bfloat16 nearest to a number (8 significant bits, ties to even), as a number; directly, not via float32. */
function roundToBfloat16(value) {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.abs(value);
  if (magnitude >= (2 - 2 ** -8) * 2 ** 127) return Math.sign(value) * Infinity; // the largest finite plus half an ulp
  let exponent = Math.max(Math.floor(Math.log2(magnitude)), -126); // below 2^-126: subnormal, spacing 2^-133
  if (2 ** exponent > magnitude && exponent > -126) exponent -= 1;
  if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  const spacing = 2 ** (exponent - 7);
  const steps = magnitude / spacing;
  let rounded = Math.floor(steps);
  if (steps - rounded > 0.5 || (steps - rounded === 0.5 && rounded % 2 === 1)) rounded += 1;
  return Math.sign(value) * rounded * spacing;
}

/** The float16 nearest to a number (ties to even), as a number. */
function roundToFloat16(value) {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return Math.sign(value) * Infinity; // 65504 + half an ulp rounds up to infinity
  let exponent = Math.max(Math.floor(Math.log2(magnitude)), -14); // below 2^-14: subnormal, spacing 2^-24
  if (2 ** exponent > magnitude && exponent > -14) exponent -= 1; // log2 can be off by one near powers of two
  if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  const spacing = 2 ** (exponent - 10);
  const steps = magnitude / spacing; // exact: a power-of-two scaling
  let rounded = Math.floor(steps);
  if (steps - rounded > 0.5 || (steps - rounded === 0.5 && rounded % 2 === 1)) rounded += 1;
  return Math.sign(value) * rounded * spacing;
}

export function roundToDtype(value, dtype) {
  if (dtype === 'float32') return Math.fround(value);
  if (dtype === 'float16') return roundToFloat16(value);
  if (dtype === 'bfloat16') return roundToBfloat16(value);
  return value;
}

// ---------------------------------------------------------------------------
// THE IMPLEMENTATION UNDER TEST: replace this function with a call into yours.
//
// x [N, C, H, W], w [Cout, C/groups, KH, KW], dy [N, Cout, OH, OW] as flat arrays of
// numbers (the fixture's dtype values). Return { dx, dw, db } as flat arrays of values
// of `dtype` (NCHW, OIHW, [Cout]). This stand-in is the textbook loop in float64,
// rounded once to the dtype at the end; taps in the padding are skipped.

export function conv2dBackward(x, w, dy, { stride, dilation, pads, groups }, dtype) {
  const [batch, channels, height, width] = x.shape;
  const [outChannels, groupChannels, kernelHeight, kernelWidth] = w.shape;
  const [, , outHeight, outWidth] = dy.shape;
  const groupOutChannels = outChannels / groups;
  const dx = new Float64Array(x.values.length);
  const dw = new Float64Array(w.values.length);
  const db = new Float64Array(outChannels);
  for (let n = 0; n < batch; n++) {
    for (let outChannel = 0; outChannel < outChannels; outChannel++) {
      const group = Math.floor(outChannel / groupOutChannels);
      for (let outRow = 0; outRow < outHeight; outRow++) {
        for (let outCol = 0; outCol < outWidth; outCol++) {
          const gradient = dy.values[((n * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol];
          db[outChannel] += gradient;
          for (let groupChannel = 0; groupChannel < groupChannels; groupChannel++) {
            const channel = group * groupChannels + groupChannel;
            for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
              const row = outRow * stride[0] + kernelRow * dilation[0] - pads.top;
              if (row < 0 || row >= height) continue;
              for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                const col = outCol * stride[1] + kernelCol * dilation[1] - pads.left;
                if (col < 0 || col >= width) continue;
                const xIndex = ((n * channels + channel) * height + row) * width + col;
                const wIndex = ((outChannel * groupChannels + groupChannel) * kernelHeight + kernelRow) * kernelWidth + kernelCol;
                dx[xIndex] += gradient * w.values[wIndex];
                dw[wIndex] += gradient * x.values[xIndex];
              }
            }
          }
        }
      }
    }
  }
  const round = (values) => values.map((value) => roundToDtype(value, dtype));
  return { dx: round(dx), dw: round(dw), db: round(db) };
}

// The forward the backward belongs to, if you have one: y = conv(x, w), no bias, as a
// flat NCHW array [N, Cout, OH, OW] of `dtype` values (checked against y.npy when a
// fixture has it, corpus 1.2.0 and later). Replace it with yours too, or return null.

export function conv2dForward(x, w, { stride, dilation, pads, groups }, dtype, [outHeight, outWidth]) {
  const [batch, channels, height, width] = x.shape;
  const [outChannels, groupChannels, kernelHeight, kernelWidth] = w.shape;
  const groupOutChannels = outChannels / groups;
  const y = new Float64Array(batch * outChannels * outHeight * outWidth);
  for (let n = 0; n < batch; n++) {
    for (let outChannel = 0; outChannel < outChannels; outChannel++) {
      const group = Math.floor(outChannel / groupOutChannels);
      for (let outRow = 0; outRow < outHeight; outRow++) {
        for (let outCol = 0; outCol < outWidth; outCol++) {
          let sum = 0;
          for (let groupChannel = 0; groupChannel < groupChannels; groupChannel++) {
            const channel = group * groupChannels + groupChannel;
            for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
              const row = outRow * stride[0] + kernelRow * dilation[0] - pads.top;
              if (row < 0 || row >= height) continue;
              for (let kernelCol = 0; kernelCol < kernelWidth; kernelCol++) {
                const col = outCol * stride[1] + kernelCol * dilation[1] - pads.left;
                if (col < 0 || col >= width) continue;
                sum += x.values[((n * channels + channel) * height + row) * width + col] * w.values[((outChannel * groupChannels + groupChannel) * kernelHeight + kernelRow) * kernelWidth + kernelCol];
              }
            }
          }
          y[((n * outChannels + outChannel) * outHeight + outRow) * outWidth + outCol] = sum;
        }
      }
    }
  }
  return y.map((value) => roundToDtype(value, dtype));
}

// ---------------------------------------------------------------------------
// The tolerance rule, from fixture.json's numbers (docs/tolerance.md in the
// conv2d-backward-conformance repository). Keep this part as it is.

const gamma = (k, u) => (k * u >= 1 ? Infinity : (k * u) / (1 - k * u));

/** (gamma_k(u) + 2*gamma_k(2^-53))*M + u*|expected| + (k+1)*eta, with k at least 1 and the M term 0 when M = 0. */
export function errorBound(expected, magnitude, accumulationLength, unitRoundoff, underflowSpacing) {
  const k = Math.max(1, accumulationLength);
  const magnitudeTerm = magnitude === 0 ? 0 : (gamma(k, unitRoundoff) + 2 * gamma(k, 2 ** -53)) * magnitude;
  return magnitudeTerm + unitRoundoff * Math.abs(expected) + (k + 1) * underflowSpacing;
}

/** Whether one computed value (a value of `dtype`) matches the expected float64 value. */
export function matches(got, expected, magnitude, { rule, dtype, accumulationLength, unitRoundoff, underflowSpacing }) {
  if (!Number.isFinite(expected) || !Number.isFinite(got)) {
    // NaN matches only NaN, an infinity only the same infinity, a finite value never a non-finite one.
    return Number.isNaN(expected) ? Number.isNaN(got) : got === expected;
  }
  if (rule === 'exact') return got === roundToDtype(expected, dtype); // -0 === +0
  return !(Math.abs(got - expected) > errorBound(expected, magnitude, accumulationLength, unitRoundoff, underflowSpacing));
}

// ---------------------------------------------------------------------------
// Run every fixture of a corpus.

/** Judge one output (values of `dtype`) against its expected values and magnitudes; a problem line, or null. */
function checkOutput(output, values, expected, magnitude, tolerance, dtype, accumulationLength) {
  if (values.length !== expected.length) return `${output}: ${values.length} values, expected ${expected.length}`;
  const rule = { rule: tolerance.rule, dtype, accumulationLength, unitRoundoff: tolerance.unitRoundoff, underflowSpacing: tolerance.underflowSpacing };
  let failing = 0;
  let first = -1;
  for (let index = 0; index < expected.length; index++) {
    if (!matches(values[index], expected[index], magnitude[index], rule)) {
      failing += 1;
      if (first < 0) first = index;
    }
  }
  if (failing === 0) return null;
  const bound = errorBound(expected[first], magnitude[first], accumulationLength, tolerance.unitRoundoff, tolerance.underflowSpacing);
  return `${output}: ${failing} of ${expected.length} elements fail (${tolerance.rule}); first at flat index ${first}: got ${values[first]}, expected ${expected[first]}, bound ${bound}`;
}

export function checkFixture(folder) {
  const meta = JSON.parse(readFileSync(join(folder, 'fixture.json'), 'utf8'));
  const load = (name) => readNpy(join(folder, meta.files[name].path));
  const { tolerance } = meta;
  const [x, w] = [load('x'), load('w')];
  const got = conv2dBackward(x, w, load('dy'), meta.params, meta.dtype);
  const problems = [];
  for (const output of ['dx', 'dw', 'db']) {
    const { accumulationLength, magnitude } = tolerance.outputs[output];
    const problem = checkOutput(output, got[output], load(output).values, load(magnitude).values, tolerance, meta.dtype, accumulationLength);
    if (problem !== null) problems.push(problem);
  }
  // y, when the fixture has it (forward.json: corpus 1.2.0 and later) and you have a forward.
  if (existsSync(join(folder, 'forward.json'))) {
    const forward = JSON.parse(readFileSync(join(folder, 'forward.json'), 'utf8'));
    const y = conv2dForward(x, w, meta.params, meta.dtype, forward.shape.slice(2));
    if (y !== null) {
      const read = (name) => readNpy(join(folder, forward.files[name].path)).values;
      const problem = checkOutput('y', y, read('y'), read(forward.tolerance.outputs.y.magnitude), forward.tolerance, meta.dtype, forward.tolerance.outputs.y.accumulationLength);
      if (problem !== null) problems.push(problem);
    }
  }
  return { id: meta.id, family: meta.family, problems };
}

export function selectFixtures(manifest, perFamily) {
  const entries = [...manifest.fixtures].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (!perFamily) return entries;
  const counts = new Map();
  return entries.filter((entry) => {
    counts.set(entry.family, (counts.get(entry.family) ?? 0) + 1);
    return counts.get(entry.family) <= perFamily;
  });
}

function main() {
  const here = dirname(fileURLToPath(import.meta.url));
  const corpus = resolve(process.argv[2] ?? process.env.CONV2D_FIXTURES ?? join(here, '..', '..', 'fixtures'));
  const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8'));
  const selected = selectFixtures(manifest, Number(process.env.CONV2D_FIXTURES_PER_FAMILY ?? 0));
  let failed = 0;
  for (const entry of selected) {
    const { problems } = checkFixture(join(corpus, entry.path));
    if (problems.length > 0) {
      failed += 1;
      console.log(`FAIL ${entry.id}\n  ${problems.join('\n  ')}`);
    }
  }
  const families = new Set(selected.map((entry) => entry.family)).size;
  console.log(`${selected.length - failed} of ${selected.length} fixtures passed (${families} families, corpus ${manifest.corpusVersion} at ${corpus})`);
  process.exitCode = failed === 0 && selected.length > 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
