/**
 * One fuzz case: a convolution configuration, a data family and a seed, written
 * as one line of `key=value` parameters (printed for a failure, read back by
 * --fuzz-replay), and built into the same fixture a corpus folder would hold:
 * the data drawn by the family (src/data-families.ts), the expected gradients
 * and magnitudes from the float64 oracle, the tolerance fields of
 * derivedFixtureFields — the generator's code (src/expected-values.ts), in the
 * runner's process.
 *
 *   x=2x3x7x6 filter=4x3x3 groups=1 stride=1x2 dilation=1x1 padding=EXPLICIT pads=1,0,1,1 dtype=float32 family=normal seed=123 dy-kept=all
 *
 * `x` is [N, C, H, W], `filter` [Cout, KH, KW] (its input channels are C/groups),
 * `pads` top,bottom,left,right (only with padding=EXPLICIT; the auto modes resolve
 * their pads), `variant` the special family's variant, `dy-kept` either `all`, `none` or the
 * flat indices of dy kept non-zero (every other dy entry is set to 0): what the
 * shrinker leaves of dy.
 */
import { DATA_FAMILY_DEFINITIONS } from '../../src/data-families.js';
import { ConformanceError, isConformanceError } from '../../src/errors.js';
import { drawAndCompute, fixtureTensors, inputTensors } from '../../src/expected-values.js';
import { derivedFixtureFields, type FixtureTensors } from '../../src/fixture-io.js';
import { conv2dGeometry, resolvePadding, shapeSize, type Conv2dGeometry } from '../../src/geometry.js';
import { FIXTURE_TENSOR_NAMES, FORMAT_VERSION, tensorFileName } from '../../src/schemas/fixture-schema.js';
import {
  DATA_FAMILIES,
  DTYPES,
  PADDING_MODES,
  type Conv2dParams,
  type DataFamily,
  type Dtype,
  type FixtureFile,
  type FixtureMeta,
  type ForwardExpectation,
  type PaddingMode,
  type Pads,
} from '../../src/types.js';

/** A fuzz case's parameters: everything its fixture follows from. */
export interface FuzzCase {
  /** [N, C, H, W] */
  x: [number, number, number, number];
  /** [Cout, KH, KW] */
  filter: [number, number, number];
  groups: number;
  stride: [number, number];
  dilation: [number, number];
  padding: PaddingMode;
  /** The explicit pads; for an auto mode, the pads it resolves to. */
  pads: Pads;
  dtype: Dtype;
  family: DataFamily;
  /** The special family's variant ('' for the other families). */
  variant: string;
  /** The data's seed (src/prng.ts). */
  seed: number;
  /** Flat indices of dy kept as drawn (sorted); every other dy entry is 0. null: all kept. */
  dyKeep: number[] | null;
}

/** A built case: its fixture.json (checksums not computed: nothing is on disk) and its nine tensors. */
export interface BuiltCase {
  meta: FixtureMeta;
  tensors: FixtureTensors;
  geometry: Conv2dGeometry;
  /** The expected forward output y of the case's x and w (src/forward-expected.ts). */
  forward: ForwardExpectation;
}

/** The parameters of a case (pads resolved). */
export function caseParams(fuzzCase: FuzzCase): Conv2dParams {
  return { stride: [...fuzzCase.stride], dilation: [...fuzzCase.dilation], pads: { ...fuzzCase.pads }, groups: fuzzCase.groups };
}

/** The pads an auto padding mode gives this case's shapes (EXPLICIT: the case's own). */
export function resolvedPads(fuzzCase: Omit<FuzzCase, 'pads'> & { pads?: Pads }): Pads {
  if (fuzzCase.padding === 'EXPLICIT') {
    if (fuzzCase.pads === undefined) throw new ConformanceError('E_USAGE', 'fuzz case: padding=EXPLICIT needs pads=top,bottom,left,right', {});
    return fuzzCase.pads;
  }
  const [, , height, width] = fuzzCase.x;
  return resolvePadding(fuzzCase.padding, [height, width], [fuzzCase.filter[1], fuzzCase.filter[2]], fuzzCase.stride, fuzzCase.dilation);
}

/** The geometry of a case; E_GEOMETRY when the shapes and parameters do not make a convolution. */
export function caseGeometry(fuzzCase: FuzzCase): Conv2dGeometry {
  const [batch, inChannels, height, width] = fuzzCase.x;
  const [outChannels, kernelHeight, kernelWidth] = fuzzCase.filter;
  if (!Number.isInteger(inChannels / fuzzCase.groups)) {
    throw new ConformanceError('E_GEOMETRY', `x shape[1]: input channels ${inChannels} are not divisible by groups ${fuzzCase.groups}`, { inChannels });
  }
  return conv2dGeometry([batch, inChannels, height, width], [outChannels, inChannels / fuzzCase.groups, kernelHeight, kernelWidth], caseParams(fuzzCase));
}

/** Multiply-accumulates of the forward (each of dx and dw costs as many): N*Cout*OH*OW*(C/G)*KH*KW. */
export function caseMacs(geometry: Conv2dGeometry): number {
  return geometry.batch * geometry.outChannels * geometry.outHeight * geometry.outWidth * geometry.inChannelsPerGroup * geometry.kernelHeight * geometry.kernelWidth;
}

const pair = (values: readonly number[]): string => values.join('x');

/** The one-line form of a case (see the module comment); parseFuzzCase reads it back. */
export function formatFuzzCase(fuzzCase: FuzzCase): string {
  const parts = [
    `x=${pair(fuzzCase.x)}`,
    `filter=${pair(fuzzCase.filter)}`,
    `groups=${fuzzCase.groups}`,
    `stride=${pair(fuzzCase.stride)}`,
    `dilation=${pair(fuzzCase.dilation)}`,
    `padding=${fuzzCase.padding}`,
  ];
  if (fuzzCase.padding === 'EXPLICIT') {
    const { top, bottom, left, right } = fuzzCase.pads;
    parts.push(`pads=${top},${bottom},${left},${right}`);
  }
  parts.push(`dtype=${fuzzCase.dtype}`, `family=${fuzzCase.family}`);
  if (fuzzCase.variant !== '') parts.push(`variant=${fuzzCase.variant}`);
  parts.push(`seed=${fuzzCase.seed}`, `dy-kept=${fuzzCase.dyKeep === null ? 'all' : fuzzCase.dyKeep.length === 0 ? 'none' : fuzzCase.dyKeep.join(',')}`);
  return parts.join(' ');
}

const KEYS = ['x', 'filter', 'groups', 'stride', 'dilation', 'padding', 'pads', 'dtype', 'family', 'variant', 'seed', 'dy-kept'] as const;
type Key = (typeof KEYS)[number];

function usage(message: string, context: Record<string, unknown> = {}): ConformanceError {
  return new ConformanceError('E_USAGE', `--fuzz-replay: ${message}`, context);
}

function integers(text: string, key: string, separator: string, count: number | null, minimum: number): number[] {
  const items = text.split(separator);
  if ((count !== null && items.length !== count) || items.some((item) => !/^\d+$/.test(item) || Number(item) < minimum)) {
    const what = count === null ? `integers >= ${minimum} separated by '${separator}'` : `${count} integers >= ${minimum} separated by '${separator}'`;
    throw usage(`${key}: expected ${what}, found '${text}'`, { key, text });
  }
  return items.map(Number);
}

/**
 * Read a case's one-line form. Every problem is an E_USAGE error naming the key,
 * what was expected and what was found; a geometry that is not a convolution is one too.
 */
export function parseFuzzCase(line: string): FuzzCase {
  const fields = new Map<Key, string>();
  for (const token of line.trim().split(/\s+/).filter(Boolean)) {
    const equals = token.indexOf('=');
    const key = token.slice(0, equals) as Key;
    if (equals < 1 || !KEYS.includes(key)) throw usage(`'${token}': expected key=value with a key from ${KEYS.join(', ')}`, { token });
    if (fields.has(key)) throw usage(`${key} is given twice`, { key });
    fields.set(key, token.slice(equals + 1));
  }
  const required = (key: Key): string => {
    const value = fields.get(key);
    if (value === undefined) throw usage(`${key}= is missing (a case line looks like: x=2x3x7x6 filter=4x3x3 groups=1 stride=1x1 dilation=1x1 padding=VALID dtype=float32 family=normal seed=1 dy-kept=all)`, { key });
    return value;
  };
  const oneOf = <T extends string>(key: Key, allowed: readonly T[]): T => {
    const value = required(key);
    if (!(allowed as readonly string[]).includes(value)) throw usage(`${key}: expected one of ${allowed.join(', ')}, found '${value}'`, { key, value });
    return value as T;
  };
  const [batch, inChannels, height, width] = integers(required('x'), 'x', 'x', 4, 1);
  const [outChannels, kernelHeight, kernelWidth] = integers(required('filter'), 'filter', 'x', 3, 1);
  const [groups] = integers(required('groups'), 'groups', ',', 1, 1);
  const stride = integers(required('stride'), 'stride', 'x', 2, 1) as [number, number];
  const dilation = integers(required('dilation'), 'dilation', 'x', 2, 1) as [number, number];
  const padding = oneOf('padding', PADDING_MODES);
  const dtype = oneOf('dtype', DTYPES);
  const family = oneOf('family', DATA_FAMILIES);
  const [seed] = integers(required('seed'), 'seed', ',', 1, 0);
  if (seed > 0xffffffff) throw usage(`seed: expected an integer in [0, 2^32), found ${seed}`, { seed });
  let pads: Pads | undefined;
  if (padding === 'EXPLICIT') {
    const [top, bottom, left, right] = integers(required('pads'), 'pads', ',', 4, 0);
    pads = { top, bottom, left, right };
  } else if (fields.has('pads')) {
    throw usage(`pads: only with padding=EXPLICIT; padding=${padding} resolves its own`, {});
  }
  const variant = fields.get('variant') ?? '';
  const partial = { x: [batch, inChannels, height, width] as FuzzCase['x'], filter: [outChannels, kernelHeight, kernelWidth] as FuzzCase['filter'], groups, stride, dilation, padding, dtype, family, variant, seed };
  const fuzzCase: FuzzCase = { ...partial, pads: resolvedPads({ ...partial, pads, dyKeep: null }), dyKeep: null };
  let geometry: Conv2dGeometry;
  try {
    geometry = caseGeometry(fuzzCase);
  } catch (error) {
    if (isConformanceError(error, 'E_GEOMETRY')) throw usage(`the case is not a convolution: ${error.message}`, { line });
    throw error;
  }
  const allowed = DATA_FAMILY_DEFINITIONS[family].variants(caseParams(fuzzCase));
  if (allowed.length === 0) throw usage(`family ${family}: not defined for these parameters (special needs stride 1x1, dilation 1x1 and no pads)`, { family });
  const variants = allowed.filter((name) => name !== '');
  if (variants.length > 0 ? !variants.includes(variant) : variant !== '') {
    const expected = variants.length > 0 ? `one of ${variants.join(', ')}` : `none for family ${family}`;
    throw usage(`variant: expected ${expected}, found '${variant}'`, { variant });
  }
  const dy = required('dy-kept');
  if (dy !== 'all') {
    const kept = dy === 'none' ? [] : integers(dy, 'dy-kept', ',', null, 0);
    const size = shapeSize(geometry.dyShape);
    const outside = kept.find((index) => index >= size);
    if (outside !== undefined) throw usage(`dy-kept: index ${outside} is outside dy's ${size} elements`, { outside });
    fuzzCase.dyKeep = [...new Set(kept)].sort((a, b) => a - b);
  }
  return fuzzCase;
}

/** Placeholder checksums: a built case lives in memory; writeFixtureFolder computes the real ones. */
const NO_SHA256 = '0'.repeat(64);

/**
 * Build a case into a fixture, or say why its family's rule cannot hold for it
 * (a too long accumulation for the dtype, a possible overflow, an exactness proof
 * that fails): fuzzing then draws another case, and the shrinker another candidate.
 */
export function buildFuzzCase(fuzzCase: FuzzCase, id: string): BuiltCase | { problem: string } {
  const { meta, geometry } = fuzzCaseMeta(fuzzCase, id);
  const keep = fuzzCase.dyKeep;
  const edit =
    keep === null
      ? undefined
      : (data: { dy: Float64Array }) => {
          const kept = new Set(keep);
          for (let index = 0; index < data.dy.length; index++) if (!kept.has(index)) data.dy[index] = 0;
        };
  const computed = drawAndCompute({ id, family: fuzzCase.family, variant: fuzzCase.variant, dtype: fuzzCase.dtype, seed: fuzzCase.seed, params: meta.params, geometry }, edit);
  if ('problem' in computed) return computed;
  const { data, expected, magnitude, forward } = computed;
  const tensors = fixtureTensors(inputTensors(data, fuzzCase.dtype, geometry), { expected, magnitude });
  return { meta, tensors, geometry, forward };
}

/** A case's fixture.json and geometry, without its data: what a `supports` function is asked about. */
export function fuzzCaseMeta(fuzzCase: FuzzCase, id: string): { meta: FixtureMeta; geometry: Conv2dGeometry } {
  const geometry = caseGeometry(fuzzCase);
  const params = caseParams(fuzzCase);
  const definition = DATA_FAMILY_DEFINITIONS[fuzzCase.family];
  const files = Object.fromEntries(
    FIXTURE_TENSOR_NAMES.map((name): [string, FixtureFile] => [name, { path: tensorFileName(name), dtype: name === 'x' || name === 'w' || name === 'dy' ? fuzzCase.dtype : 'float64', sha256: NO_SHA256 }]),
  );
  const meta: FixtureMeta = {
    id,
    formatVersion: FORMAT_VERSION,
    op: 'conv2d_backward',
    description: `fuzz case: ${formatFuzzCase(fuzzCase)}. Data: ${definition.description}.`,
    case: 'fuzz',
    dtype: fuzzCase.dtype,
    family: fuzzCase.family,
    seed: fuzzCase.seed,
    tags: fuzzCase.variant === '' ? ['fuzz'] : ['fuzz', fuzzCase.variant],
    params,
    padding: { mode: fuzzCase.padding },
    ...derivedFixtureFields(geometry, fuzzCase.dtype, definition.rule),
    files,
    witnesses: { agreed: false, backends: [] },
  };
  return { meta, geometry };
}
