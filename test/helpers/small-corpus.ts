/**
 * A small, complete corpus for runner tests, built in a temp folder with the
 * float64 oracle, writeFixtureFolder and a manifest (the same formats as the
 * real generator, none of its witnesses):
 *
 *   const corpus = await buildSmallCorpus(t.testdir());
 *   await runConformance({ impl, fixturesDir: corpus.dir });
 *
 * Fixtures cover the features the runner must route: float16/float32/float64,
 * stride, asymmetric pads, dilation, groups, the `exact` rule. Shapes are tiny so
 * pure-Python and naive JS adapters score them in milliseconds.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fromFloat64Array, roundToDtype } from '../../src/dtype.js';
import { derivedFixtureFields, writeFixtureFolder } from '../../src/fixture-io.js';
import { conv2dGeometry } from '../../src/geometry.js';
import { buildManifest, readManifestEntry, writeManifest } from '../../src/manifest.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import { FORMAT_VERSION } from '../../src/schemas/fixture-schema.js';
import type { Conv2dParams, DataFamily, Dtype, FixtureMeta, Float64Tensor, Tensor } from '../../src/types.js';

export interface SmallFixtureSpec {
  id: string;
  case: string;
  family: DataFamily;
  dtype: Dtype;
  tags: string[];
  seed: number;
  /** x [N, C, H, W] and w [Cout, C/groups, KH, KW]. */
  xShape: [number, number, number, number];
  wShape: [number, number, number, number];
  params: Conv2dParams;
}

const pads = (top: number, bottom: number, left: number, right: number) => ({ top, bottom, left, right });

/** The default small corpus: 7 fixtures, sorted here by id. */
export const SMALL_CORPUS_SPECS: readonly SmallFixtureSpec[] = [
  {
    id: 'dilated-exact-f32',
    case: 'dilated',
    family: 'exact',
    dtype: 'float32',
    tags: ['dilated', 'padded'],
    seed: 11,
    xShape: [1, 2, 6, 5],
    wShape: [3, 2, 2, 2],
    params: { stride: [1, 1], dilation: [2, 1], pads: pads(1, 1, 0, 0), groups: 1 },
  },
  {
    id: 'grouped-normal-f64',
    case: 'grouped',
    family: 'normal',
    dtype: 'float64',
    tags: ['groups'],
    seed: 12,
    xShape: [2, 4, 4, 4],
    wShape: [6, 2, 3, 3],
    params: { stride: [1, 1], dilation: [1, 1], pads: pads(1, 1, 1, 1), groups: 2 },
  },
  {
    id: 'plain-exact-f64',
    case: 'plain',
    family: 'exact',
    dtype: 'float64',
    tags: ['plain'],
    seed: 13,
    xShape: [1, 2, 4, 4],
    wShape: [2, 2, 3, 3],
    params: { stride: [1, 1], dilation: [1, 1], pads: pads(0, 0, 0, 0), groups: 1 },
  },
  {
    id: 'plain-normal-f16',
    case: 'plain',
    family: 'normal',
    dtype: 'float16',
    tags: ['plain'],
    seed: 14,
    xShape: [1, 2, 4, 4],
    wShape: [2, 2, 3, 3],
    params: { stride: [1, 1], dilation: [1, 1], pads: pads(0, 0, 0, 0), groups: 1 },
  },
  {
    id: 'plain-normal-f32',
    case: 'plain',
    family: 'normal',
    dtype: 'float32',
    tags: ['plain'],
    seed: 15,
    xShape: [2, 3, 5, 5],
    wShape: [4, 3, 3, 3],
    params: { stride: [1, 1], dilation: [1, 1], pads: pads(1, 1, 1, 1), groups: 1 },
  },
  {
    id: 'strided-asym-normal-f32',
    case: 'strided-asym',
    family: 'normal',
    dtype: 'float32',
    tags: ['strided', 'pads-asymmetric', 'padded'],
    seed: 16,
    xShape: [1, 3, 7, 6],
    wShape: [2, 3, 3, 2],
    params: { stride: [2, 3], dilation: [1, 1], pads: pads(2, 0, 1, 0), groups: 1 },
  },
  {
    id: 'wide-grouped-dilated-f32',
    case: 'grouped-dilated',
    family: 'wide',
    dtype: 'float32',
    tags: ['groups', 'dilated', 'strided'],
    seed: 17,
    xShape: [1, 4, 6, 6],
    wShape: [4, 2, 2, 2],
    params: { stride: [2, 1], dilation: [1, 2], pads: pads(0, 1, 1, 0), groups: 2 },
  },
];

/** Seeded values of a dtype: integers in [-3, 3] for `exact` (every partial sum is exact), else normal draws (scaled for `wide`). */
function draw(prng: Prng, shape: number[], spec: SmallFixtureSpec): Float64Tensor {
  const size = shape.reduce((product, dimension) => product * dimension, 1);
  const data = new Float64Array(size);
  const scale = spec.family === 'wide' ? 2 ** prng.integer(-8, 8) : 1;
  for (let index = 0; index < size; index++) {
    const value = spec.family === 'exact' ? prng.integer(-3, 3) : prng.normal() * (spec.family === 'wide' ? scale * 2 ** prng.integer(-4, 4) : 1);
    data[index] = roundToDtype(value, spec.dtype);
  }
  return { dtype: 'float64', shape: [...shape], data };
}

function inDtype(tensor: Float64Tensor, dtype: Dtype): Tensor {
  return { dtype, shape: [...tensor.shape], data: fromFloat64Array(tensor.data, dtype) };
}

/** Write one fixture folder into `corpusDir`; returns its metadata. */
export async function writeSmallFixture(corpusDir: string, spec: SmallFixtureSpec): Promise<FixtureMeta> {
  const geometry = conv2dGeometry(spec.xShape, spec.wShape, spec.params);
  const prng = new Prng(spec.seed);
  const x = draw(prng, geometry.xShape, spec);
  const w = draw(prng, geometry.wShape, spec);
  const dy = draw(prng, geometry.dyShape, spec);
  const gradients = conv2dBackward(x, w, dy, spec.params);
  const magnitude = conv2dBackwardMagnitude(x, w, dy, spec.params);
  const written = await writeFixtureFolder(
    join(corpusDir, spec.id),
    {
      id: spec.id,
      formatVersion: FORMAT_VERSION,
      op: 'conv2d_backward',
      description: `test fixture ${spec.id}`,
      case: spec.case,
      dtype: spec.dtype,
      family: spec.family,
      seed: spec.seed,
      tags: [...spec.tags],
      params: spec.params,
      padding: { mode: 'EXPLICIT' },
      ...derivedFixtureFields(geometry, spec.dtype, spec.family === 'exact' ? 'exact' : 'bound'),
      witnesses: { agreed: true, backends: [] },
    },
    {
      x: inDtype(x, spec.dtype),
      w: inDtype(w, spec.dtype),
      dy: inDtype(dy, spec.dtype),
      dx: gradients.dx,
      dw: gradients.dw,
      db: gradients.db,
      'dx-magnitude': magnitude.dx,
      'dw-magnitude': magnitude.dw,
      'db-magnitude': magnitude.db,
    },
  );
  return written.meta;
}

export interface SmallCorpus {
  dir: string;
  ids: string[];
  metas: FixtureMeta[];
}

/** Build a corpus (fixture folders + manifest.json) in `dir`, which should be empty. */
export async function buildSmallCorpus(dir: string, specs: readonly SmallFixtureSpec[] = SMALL_CORPUS_SPECS): Promise<SmallCorpus> {
  const metas: FixtureMeta[] = [];
  await mkdir(dir, { recursive: true });
  for (const spec of specs) metas.push(await writeSmallFixture(dir, spec));
  const entries = await Promise.all(metas.map((meta) => readManifestEntry(join(dir, meta.id))));
  const manifest = buildManifest({ corpusVersion: '0.0.1-test', generator: { name: 'small-corpus', version: '0.0.1' }, entries });
  await writeManifest(dir, manifest);
  return { dir, ids: manifest.fixtures.map((entry) => entry.id), metas };
}
