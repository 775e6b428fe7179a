/**
 * A `cmd:` program (protocol 1.1) that answers at once, for the benchmark of the
 * runner's share of a `cmd:` round trip: it computes nothing, it writes each
 * fixture's expected outputs (read from the corpus given as its argument,
 * rounded to the fixture's dtype), in NCHW/OIHW, and reports the time that took
 * as its "seconds", so that what remains of the round trip is the runner's.
 *
 *   node dist/bench/instant-answer.js CORPUS_DIR
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fromFloat64Array } from '../src/dtype.js';
import { readNpy, writeNpy } from '../src/npy.js';
import type { Dtype, Float64Tensor } from '../src/types.js';

const corpusDir = process.argv[2];
if (corpusDir === undefined) {
  process.stderr.write('instant-answer: expected the corpus folder as the argument\n');
  process.exit(2);
}

interface Request {
  type: string;
  id: string;
  dtype: Dtype;
  outputs: Record<string, string>;
}

process.stdout.write(
  `${JSON.stringify({ protocol: 'conv2d-backward-conformance/1.1', name: 'instant-answer', dtypes: ['float16', 'float32', 'float64'] })}\n`,
);
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const request = JSON.parse(line) as Request;
  if (request.type === 'shutdown') {
    lines.close();
    return;
  }
  const started = performance.now();
  for (const [name, path] of Object.entries(request.outputs)) {
    const source = join(corpusDir, request.id, `${name}.npy`);
    const expected = readNpy(readFileSync(source), source) as Float64Tensor;
    writeFileSync(path, writeNpy({ dtype: request.dtype, shape: expected.shape, data: fromFloat64Array(expected.data, request.dtype) }));
  }
  process.stdout.write(`${JSON.stringify({ id: request.id, ok: true, seconds: (performance.now() - started) / 1000 })}\n`);
});
