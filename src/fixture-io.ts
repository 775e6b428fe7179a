/**
 * One fixture folder on disk: nine .npy files and fixture.json, and (corpus 1.2.0
 * and later) the expected forward output in three more files.
 *
 *   x.npy w.npy dy.npy                                  inputs, in the fixture's dtype
 *   dx.npy dw.npy db.npy                                expected gradients, float64
 *   dx-magnitude.npy dw-magnitude.npy db-magnitude.npy  float64 sums of |products|
 *   fixture.json                                        FixtureMeta
 *   y.npy y-magnitude.npy forward.json                  y = conv(x, w), its magnitude, ForwardMeta (optional)
 *
 * Writing is deterministic (same input, same bytes). Reading checks everything
 * fixture.json promises: its schema, its internal consistency, and each file's
 * checksum, dtype and shape.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { DTYPE_INFO } from './dtype.js';
import { ConformanceError, describeValue, isConformanceError } from './errors.js';
import { accumulationLengths, conv2dBackwardGeometry, conv2dGeometry, forwardAccumulationLength, resolvePadding, type Conv2dGeometry } from './geometry.js';
import { sha256Hex } from './hash.js';
import { encodeNpyHeader, formatShape, readNpy, writeNpy } from './npy.js';
import { readRegularFileSync } from './regular-file.js';
import { FIXTURE_META_FILE, FIXTURE_TENSOR_NAMES, FORMAT_VERSION, magnitudeTensorName, type FixtureTensorName, tensorFileName } from './schemas/fixture-schema.js';
import { FORWARD_META_FILE, FORWARD_TENSOR_NAMES, forwardTensorFileName, type ForwardTensorName } from './schemas/forward-schema.js';
import { validateFixtureMeta, validateForwardMeta } from './schemas/validate.js';
import {
  OUTPUT_NAMES,
  type Dtype,
  type FixtureFile,
  type FixtureMeta,
  type FixtureTolerance,
  type Float64Tensor,
  type ForwardExpectation,
  type ForwardMeta,
  type InputName,
  type OutputName,
  type Tensor,
} from './types.js';

export {
  FIXTURE_META_FILE,
  FIXTURE_TENSOR_NAMES,
  magnitudeTensorName,
  tensorFileName,
  type FixtureTensorName,
  type MagnitudeTensorName,
} from './schemas/fixture-schema.js';

/**
 * The one representation of a fixture's nine tensors: keyed by their logical names,
 * the keys of fixture.json `files` (x, w, dy in the fixture's dtype; dx, dw, db and
 * dx-magnitude, dw-magnitude, db-magnitude in float64; see magnitudeTensorName).
 */
export type FixtureTensors = { readonly [name in FixtureTensorName]: name extends InputName ? Tensor : Float64Tensor };

export interface LoadedFixture extends FixtureTensors {
  meta: FixtureMeta;
  dir: string;
  /** The expected forward output y, when the fixture (corpus 1.2.0 and later) or fuzz case has it. */
  forward?: ForwardExpectation;
}

export interface LoadFixtureOptions {
  /** Compare each file's sha256 with fixture.json (and forward.json; default true). */
  verifyChecksums?: boolean;
  /**
   * The fixture's forward.json, already read and validated (checkCorpus's VerifiedFixture.forward):
   * null when the folder has none. Default: read forward.json from the folder when it is there.
   */
  forwardMeta?: ForwardMeta | null;
}

/** The largest fixture.json read (a real one is a few KB); a larger file is refused unread. */
export const MAX_FIXTURE_META_BYTES = 1024 * 1024;

function fixtureError(message: string, context: Record<string, unknown>): ConformanceError {
  return new ConformanceError('E_FIXTURE', message, context);
}

/** The output a tensor belongs to: dx for dx and dx-magnitude; undefined for an input. */
function outputOf(name: FixtureTensorName): OutputName | undefined {
  return OUTPUT_NAMES.find((output) => name === output || name === magnitudeTensorName(output));
}

function isInput(name: FixtureTensorName): name is InputName {
  return name === 'x' || name === 'w' || name === 'dy';
}

/** The dtype fixture.json must give a tensor file. */
function expectedFileDtype(name: FixtureTensorName, fixtureDtype: Dtype): Dtype {
  return isInput(name) ? fixtureDtype : 'float64';
}

/** The shape a tensor file must have according to meta.shapes. */
function expectedShape(meta: Pick<FixtureMeta, 'shapes'>, name: FixtureTensorName): number[] {
  return isInput(name) ? meta.shapes[name] : meta.shapes[outputOf(name) as OutputName];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, axis) => size === b[axis]);
}

// ---------------------------------------------------------------------------
// fixture.json

/**
 * The canonical fixture.json object: keys in a fixed order (that of FixtureMeta),
 * so the same metadata always serialises to the same bytes.
 */
export function canonicalFixtureMeta(meta: FixtureMeta): FixtureMeta {
  const { params, tolerance } = meta;
  return {
    id: meta.id,
    formatVersion: meta.formatVersion,
    op: meta.op,
    description: meta.description,
    case: meta.case,
    dtype: meta.dtype,
    family: meta.family,
    seed: meta.seed,
    tags: [...meta.tags],
    params: {
      stride: [params.stride[0], params.stride[1]],
      dilation: [params.dilation[0], params.dilation[1]],
      pads: { top: params.pads.top, bottom: params.pads.bottom, left: params.pads.left, right: params.pads.right },
      groups: params.groups,
    },
    padding: { mode: meta.padding.mode },
    shapes: {
      x: [...meta.shapes.x],
      w: [...meta.shapes.w],
      dy: [...meta.shapes.dy],
      dx: [...meta.shapes.dx],
      dw: [...meta.shapes.dw],
      db: [...meta.shapes.db],
    },
    files: Object.fromEntries(
      FIXTURE_TENSOR_NAMES.map((name): [string, FixtureFile] => {
        const file = meta.files[name];
        return [name, { path: file.path, dtype: file.dtype, sha256: file.sha256 }];
      }),
    ),
    tolerance: {
      rule: tolerance.rule,
      unitRoundoff: tolerance.unitRoundoff,
      underflowSpacing: tolerance.underflowSpacing,
      outputs: {
        dx: { accumulationLength: tolerance.outputs.dx.accumulationLength, magnitude: tolerance.outputs.dx.magnitude },
        dw: { accumulationLength: tolerance.outputs.dw.accumulationLength, magnitude: tolerance.outputs.dw.magnitude },
        db: { accumulationLength: tolerance.outputs.db.accumulationLength, magnitude: tolerance.outputs.db.magnitude },
      },
    },
    witnesses: { agreed: meta.witnesses.agreed, backends: [...meta.witnesses.backends] },
  };
}

/** The exact text of fixture.json: canonical key order, 2-space indentation, trailing newline. */
export function serializeFixtureMeta(meta: FixtureMeta): string {
  return `${JSON.stringify(canonicalFixtureMeta(meta), null, 2)}\n`;
}

/**
 * What the schema cannot say: fixture.json must agree with itself and with
 * src/geometry.ts and src/dtype.ts. Throws E_FIXTURE naming `source`.
 */
export function checkFixtureConsistency(meta: FixtureMeta, source: string): void {
  const fail = (message: string, context: Record<string, unknown> = {}): never => {
    throw fixtureError(`${source}: ${message}`, { source, id: meta.id, ...context });
  };
  for (const name of FIXTURE_TENSOR_NAMES) {
    const expected = expectedFileDtype(name, meta.dtype);
    if (meta.files[name].dtype !== expected) {
      fail(`files.${name}.dtype: expected ${expected}${isInput(name) ? " (the fixture's dtype)" : ''}, found ${meta.files[name].dtype}`, { name });
    }
  }
  let geometry;
  try {
    geometry = conv2dBackwardGeometry(meta.shapes.x, meta.shapes.w, meta.shapes.dy, meta.params);
  } catch (error) {
    if (!isConformanceError(error, 'E_GEOMETRY')) throw error;
    return fail(`shapes and params are inconsistent: ${error.message}`, { cause: error.context });
  }
  const outputShapes: Record<OutputName, number[]> = { dx: geometry.xShape, dw: geometry.wShape, db: geometry.dbShape };
  for (const output of OUTPUT_NAMES) {
    if (!sameShape(meta.shapes[output], outputShapes[output])) {
      fail(`shapes.${output}: expected [${outputShapes[output].join(', ')}] (from x, w and params), found [${meta.shapes[output].join(', ')}]`, { output });
    }
  }
  const mode = meta.padding.mode;
  if (mode !== 'EXPLICIT') {
    const pads = resolvePadding(mode, [geometry.inHeight, geometry.inWidth], [geometry.kernelHeight, geometry.kernelWidth], meta.params.stride, meta.params.dilation);
    const found = meta.params.pads;
    if (pads.top !== found.top || pads.bottom !== found.bottom || pads.left !== found.left || pads.right !== found.right) {
      fail(`params.pads: padding mode ${mode} resolves to ${describeValue(pads)}, found ${describeValue(found)}`, { mode });
    }
  }
  const lengths = accumulationLengths(geometry);
  for (const output of OUTPUT_NAMES) {
    const found = meta.tolerance.outputs[output].accumulationLength;
    if (found !== lengths[output]) {
      fail(`tolerance.outputs.${output}.accumulationLength: expected ${lengths[output]} (from the geometry), found ${found}`, { output });
    }
  }
  const info = DTYPE_INFO[meta.dtype];
  if (meta.tolerance.unitRoundoff !== info.unitRoundoff) {
    fail(`tolerance.unitRoundoff: expected ${info.unitRoundoff} (unit roundoff of ${meta.dtype}), found ${meta.tolerance.unitRoundoff}`);
  }
  if (meta.tolerance.underflowSpacing !== info.underflowSpacing) {
    fail(`tolerance.underflowSpacing: expected ${info.underflowSpacing} (subnormal spacing of ${meta.dtype}), found ${meta.tolerance.underflowSpacing}`);
  }
}

/**
 * The fields of fixture.json that follow from the geometry and the dtype: the six
 * shapes, and the tolerance numbers (unit roundoff, subnormal spacing, each
 * output's accumulation length and magnitude file). Everything that writes
 * fixtures uses this; checkFixtureConsistency checks a fixture.json against the
 * same sources (geometry, DTYPE_INFO).
 */
export function derivedFixtureFields(
  geometry: Conv2dGeometry,
  dtype: Dtype,
  rule: FixtureTolerance['rule'],
): Pick<FixtureMeta, 'shapes' | 'tolerance'> {
  const info = DTYPE_INFO[dtype];
  const lengths = accumulationLengths(geometry);
  return {
    shapes: { x: geometry.xShape, w: geometry.wShape, dy: geometry.dyShape, dx: geometry.xShape, dw: geometry.wShape, db: geometry.dbShape },
    tolerance: {
      rule,
      unitRoundoff: info.unitRoundoff,
      underflowSpacing: info.underflowSpacing,
      outputs: {
        dx: { accumulationLength: lengths.dx, magnitude: magnitudeTensorName('dx') },
        dw: { accumulationLength: lengths.dw, magnitude: magnitudeTensorName('dw') },
        db: { accumulationLength: lengths.db, magnitude: magnitudeTensorName('db') },
      },
    },
  };
}

/** Read fixture.json of a fixture folder: schema-valid, consistent, and its id equal to the folder name. */
export async function loadFixtureMeta(dir: string): Promise<FixtureMeta> {
  return readFixtureMeta(dir).meta;
}

/**
 * fixture.json of a fixture folder, read once (a regular file of at most
 * MAX_FIXTURE_META_BYTES), with the sha256 of its bytes: schema-valid (E_SCHEMA),
 * consistent (E_FIXTURE), its id equal to the folder name (E_FIXTURE).
 */
export function readFixtureMeta(dir: string): { meta: FixtureMeta; sha256: string } {
  const source = join(dir, FIXTURE_META_FILE);
  const bytes = readRegularFileSync(source, 'a fixture file', { max: MAX_FIXTURE_META_BYTES, why: 'a fixture.json is a few KB' });
  const meta = parseFixtureMeta(bytes, source);
  const folder = basename(dir);
  if (meta.id !== folder) {
    throw fixtureError(`${source}: id: expected the folder name ${describeValue(folder)}, found ${describeValue(meta.id)}`, { source, id: meta.id, folder });
  }
  return { meta, sha256: sha256Hex(bytes) };
}

/** Parse, schema-validate (E_SCHEMA) and consistency-check (E_FIXTURE) the text of a fixture.json. */
export function parseFixtureMeta(text: Uint8Array | string, source: string): FixtureMeta {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch (error) {
    throw fixtureError(`${source}: expected JSON, found text that does not parse: ${(error as Error).message}`, { source });
  }
  const meta = validateFixtureMeta(value, source);
  checkFixtureConsistency(meta, source);
  return meta;
}

/**
 * Throw E_CHECKSUM unless `bytes` hash to `expected`:
 * `<path>: <mismatch>: expected <expected>[ (<expectedFrom>)], found <sha256>`.
 */
export function checkSha256(path: string, bytes: Uint8Array, expected: string, mismatch: string, expectedFrom?: string): void {
  const found = sha256Hex(bytes);
  if (found !== expected) {
    const from = expectedFrom === undefined ? '' : ` (${expectedFrom})`;
    throw new ConformanceError('E_CHECKSUM', `${path}: ${mismatch}: expected ${expected}${from}, found ${found}`, { path, expected, found });
  }
}

/** What a tensor file whose bytes differ from fixture.json's sha256 is told. */
export const TENSOR_SHA256_MISMATCH = 'sha256 does not match fixture.json';

/** The exact size of a tensor file of the corpus: np.save's header for its dtype and shape, then the data. */
export function tensorFileBytes(meta: Pick<FixtureMeta, 'shapes' | 'files'>, name: FixtureTensorName): number {
  const dtype = meta.files[name].dtype;
  const shape = expectedShape(meta, name);
  const elements = shape.reduce((product, length) => product * length, 1);
  return encodeNpyHeader(DTYPE_INFO[dtype].npyDescr, shape).length + elements * DTYPE_INFO[dtype].bytes;
}

/**
 * A tensor file's bytes, read once: a regular file (no symbolic link, FIFO or folder:
 * E_FILE_KIND; E_MISSING_FILE when absent) of exactly the size fixture.json implies
 * (E_FILE_SIZE, before anything is read), whose sha256 is the one in fixture.json
 * (E_CHECKSUM; unless verifyChecksum is false).
 */
export function readTensorFile(folder: string, meta: Pick<FixtureMeta, 'shapes' | 'files'>, name: FixtureTensorName, verifyChecksum = true): Uint8Array {
  const file = meta.files[name];
  // join(folder, file.path) without its normalising: folder is normal, file.path a plain name (the schema's const).
  const path = `${folder}${sep}${file.path}`;
  const bytes = readRegularFileSync(path, 'a fixture file', {
    exact: tensorFileBytes(meta, name),
    why: `np.save's header and data for ${file.dtype} shape ${formatShape(expectedShape(meta, name))}, from fixture.json`,
  });
  if (verifyChecksum) checkSha256(path, bytes, file.sha256, TENSOR_SHA256_MISMATCH);
  return bytes;
}

/**
 * Decode a tensor file's bytes (readTensorFile) strictly, and check them against
 * fixture.json: dtype and shape (E_FIXTURE), everything else E_NPY. The tensor views `bytes`.
 */
export function decodeTensorFile(folder: string, meta: Pick<FixtureMeta, 'shapes' | 'files'>, name: FixtureTensorName, bytes: Uint8Array): Tensor {
  const entry = meta.files[name];
  const path = `${folder}${sep}${entry.path}`;
  const tensor = readNpy(bytes, path, { copy: false });
  if (tensor.dtype !== entry.dtype) {
    throw fixtureError(`${path}: dtype does not match fixture.json files.${name}.dtype: expected ${entry.dtype}, found ${tensor.dtype}`, { path, name });
  }
  const shape = expectedShape(meta, name);
  if (!sameShape(tensor.shape, shape)) {
    const field = isInput(name) ? `shapes.${name}` : `shapes.${outputOf(name)}`;
    throw fixtureError(`${path}: shape does not match fixture.json ${field}: expected ${formatShape(shape)}, found ${formatShape(tensor.shape)}`, {
      path,
      name,
      expected: shape,
      found: tensor.shape,
    });
  }
  return tensor;
}

/**
 * The one fixture loader: the nine tensors of a fixture folder whose fixture.json is
 * `meta` (already read and validated). Each file is read once (readTensorFile: a
 * regular file of the size fixture.json implies, its sha256 checked unless
 * verifyChecksums is false) and decoded without a copy (decodeTensorFile). Every error names the file.
 */
export function loadFixtureTensors(folder: string, meta: FixtureMeta, options: LoadFixtureOptions = {}): LoadedFixture {
  const verifyChecksums = options.verifyChecksums ?? true;
  const tensors = {} as Record<FixtureTensorName, Tensor>;
  for (const name of FIXTURE_TENSOR_NAMES) {
    tensors[name] = decodeTensorFile(folder, meta, name, readTensorFile(folder, meta, name, verifyChecksums));
  }
  const forwardMeta = options.forwardMeta === undefined ? readForwardMeta(folder, meta)?.forward : options.forwardMeta;
  const loaded: LoadedFixture = { meta, dir: folder, ...(tensors as FixtureTensors) };
  if (forwardMeta !== null && forwardMeta !== undefined) loaded.forward = loadForwardTensors(folder, forwardMeta, verifyChecksums);
  return loaded;
}

/** What writeFixtureFolder wrote. */
export interface WrittenFixture {
  meta: FixtureMeta;
  /** sha256 of the fixture.json written. */
  metaSha256: string;
  /** Bytes of every file of the folder. */
  bytes: number;
}

/**
 * Write a fixture folder: the nine .npy files, then fixture.json with `files`
 * filled in (path, dtype, sha256). The folder's name must be `meta.id`; it is
 * created if needed. Every file is written atomically. Returns what was written
 * (the full metadata, the sha256 of fixture.json, the bytes), so that nothing needs reading back.
 */
export async function writeFixtureFolder(dir: string, meta: Omit<FixtureMeta, 'files'>, tensors: FixtureTensors): Promise<WrittenFixture> {
  const source = join(dir, FIXTURE_META_FILE);
  if (basename(dir) !== meta.id) {
    throw fixtureError(`${dir}: a fixture folder must be named after its id: expected ${describeValue(meta.id)}, found ${describeValue(basename(dir))}`, {
      dir,
      id: meta.id,
    });
  }
  // Validate the metadata before touching the tensors or the disk. The checksums come
  // from the bytes, so they are checked with placeholders first and filled in below.
  const placeholderSha256 = '0'.repeat(64);
  const files: Record<string, FixtureFile> = Object.fromEntries(
    FIXTURE_TENSOR_NAMES.map((name) => [name, { path: tensorFileName(name), dtype: expectedFileDtype(name, meta.dtype), sha256: placeholderSha256 }]),
  );
  const checked = validateFixtureMeta({ ...meta, files }, source);
  checkFixtureConsistency(checked, source);

  const encoded: { file: string; bytes: Uint8Array }[] = [];
  for (const name of FIXTURE_TENSOR_NAMES) {
    const tensor: Tensor | undefined = tensors[name];
    const dtype = files[name].dtype;
    const shape = expectedShape(checked, name);
    if (tensor?.dtype !== dtype) {
      throw fixtureError(`${dir}: tensor ${name}: expected dtype ${dtype}, found ${describeValue(tensor?.dtype)}`, { dir, name });
    }
    if (!Array.isArray(tensor.shape) || !sameShape(tensor.shape, shape)) {
      throw fixtureError(`${dir}: tensor ${name}: expected shape ${describeValue(shape)} (meta.shapes), found ${describeValue(tensor.shape)}`, { dir, name });
    }
    const file = files[name].path;
    const bytes = writeNpy(tensor, join(dir, file));
    encoded.push({ file, bytes });
    files[name].sha256 = sha256Hex(bytes);
  }
  const full = canonicalFixtureMeta({ ...checked, files });
  const text = serializeFixtureMeta(full);

  // Not recursive: the parent (a corpus's temporary folder) must exist. A recursive mkdir in
  // flight when a signal's exit hook removes that temporary folder would create it again.
  try {
    await mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  for (const { file, bytes } of encoded) await writeFileAtomic(join(dir, file), bytes);
  await writeFileAtomic(source, text);
  const metaBytes = Buffer.byteLength(text);
  return { meta: full, metaSha256: sha256Hex(text), bytes: encoded.reduce((sum, { bytes }) => sum + bytes.length, metaBytes) };
}

// ---------------------------------------------------------------------------
// forward.json, y.npy, y-magnitude.npy (corpus 1.2.0 and later)

const FORWARD_DESCRIPTION =
  "Expected forward output of this fixture's x and w (fixture.json params): y = conv(x, w) without bias, " +
  'y[n, o, oh, ow] = sum over (c, kh, kw) of x[n, g*C/groups + c, oh*SH - top + kh*DH, ow*SW - left + kw*DW] * w[o, c, kh, kw] ' +
  '(g the group of o; taps in the padding add nothing), in float64; y-magnitude = conv(|x|, |w|). Judged by tolerance like fixture.json\'s outputs.';

/**
 * What the schema cannot say about forward.json: it must belong to its fixture.json
 * (same id) and follow from its geometry and dtype: shape [N, Cout, OH, OW] (src/geometry.ts),
 * accumulation length (C/groups)*KH*KW, the dtype's unit roundoff and subnormal spacing.
 * Throws E_FIXTURE naming `source`, the field, what was expected and what was found.
 */
export function checkForwardConsistency(forward: ForwardMeta, meta: FixtureMeta, source: string): void {
  const fail = (message: string, context: Record<string, unknown> = {}): never => {
    throw fixtureError(`${source}: ${message}`, { source, id: meta.id, ...context });
  };
  if (forward.id !== meta.id) fail(`id: expected ${describeValue(meta.id)} (fixture.json's id), found ${describeValue(forward.id)}`);
  const geometry = conv2dGeometry(meta.shapes.x, meta.shapes.w, meta.params);
  if (!sameShape(forward.shape, geometry.dyShape)) {
    fail(`shape: expected ${formatShape(geometry.dyShape)} ([N, Cout, OH, OW] from fixture.json's x, w and params), found ${formatShape(forward.shape)}`, {
      expected: geometry.dyShape,
      found: forward.shape,
    });
  }
  const length = forwardAccumulationLength(geometry);
  const found = forward.tolerance.outputs.y.accumulationLength;
  if (found !== length) fail(`tolerance.outputs.y.accumulationLength: expected ${length} ((C/groups)*KH*KW from the geometry), found ${found}`);
  const info = DTYPE_INFO[meta.dtype];
  if (forward.tolerance.unitRoundoff !== info.unitRoundoff) {
    fail(`tolerance.unitRoundoff: expected ${info.unitRoundoff} (unit roundoff of ${meta.dtype}), found ${forward.tolerance.unitRoundoff}`);
  }
  if (forward.tolerance.underflowSpacing !== info.underflowSpacing) {
    fail(`tolerance.underflowSpacing: expected ${info.underflowSpacing} (subnormal spacing of ${meta.dtype}), found ${forward.tolerance.underflowSpacing}`);
  }
}

/** Parse, schema-validate (E_SCHEMA) and check against its fixture.json (E_FIXTURE) the text of a forward.json. */
export function parseForwardMeta(text: Uint8Array | string, source: string, meta: FixtureMeta): ForwardMeta {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch (error) {
    throw fixtureError(`${source}: expected JSON, found text that does not parse: ${(error as Error).message}`, { source });
  }
  const forward = validateForwardMeta(value, source);
  checkForwardConsistency(forward, meta, source);
  return forward;
}

/**
 * forward.json of a fixture folder whose fixture.json is `meta`, read once (a regular file
 * of at most MAX_FIXTURE_META_BYTES) with the sha256 of its bytes; null when the folder has
 * none (a corpus before 1.2.0, a saved fuzz failure).
 */
export function readForwardMeta(dir: string, meta: FixtureMeta): { forward: ForwardMeta; sha256: string } | null {
  const source = join(dir, FORWARD_META_FILE);
  let bytes: Uint8Array;
  try {
    bytes = readRegularFileSync(source, 'a fixture file', { max: MAX_FIXTURE_META_BYTES, why: 'a forward.json is under 2 KB' });
  } catch (error) {
    if (isConformanceError(error, 'E_MISSING_FILE') && error.context.errno === 'ENOENT') return null;
    throw error;
  }
  return { forward: parseForwardMeta(bytes, source, meta), sha256: sha256Hex(bytes) };
}

/** The exact size of y.npy or y-magnitude.npy: np.save's header for float64 and forward.json's shape, then the data. */
export function forwardTensorFileBytes(forward: Pick<ForwardMeta, 'shape'>): number {
  const elements = forward.shape.reduce((product, length) => product * length, 1);
  return encodeNpyHeader(DTYPE_INFO.float64.npyDescr, forward.shape).length + elements * DTYPE_INFO.float64.bytes;
}

/**
 * A forward tensor file's bytes, read once: a regular file of exactly the size forward.json
 * implies (E_FILE_SIZE), whose sha256 is forward.json's (E_CHECKSUM; unless verifyChecksum is false).
 */
export function readForwardTensorFile(folder: string, forward: ForwardMeta, name: ForwardTensorName, verifyChecksum = true): Uint8Array {
  const file = forward.files[name];
  const path = `${folder}${sep}${file.path}`;
  const bytes = readRegularFileSync(path, 'a fixture file', {
    exact: forwardTensorFileBytes(forward),
    why: `np.save's header and data for float64 shape ${formatShape(forward.shape)}, from ${FORWARD_META_FILE}`,
  });
  if (verifyChecksum) checkSha256(path, bytes, file.sha256, `sha256 does not match ${FORWARD_META_FILE}`);
  return bytes;
}

/** Decode a forward tensor file strictly: float64 and forward.json's shape (E_FIXTURE), everything else E_NPY. */
export function decodeForwardTensorFile(folder: string, forward: ForwardMeta, name: ForwardTensorName, bytes: Uint8Array): Float64Tensor {
  const path = `${folder}${sep}${forward.files[name].path}`;
  const tensor = readNpy(bytes, path, { copy: false });
  if (tensor.dtype !== 'float64') {
    throw fixtureError(`${path}: dtype does not match ${FORWARD_META_FILE} files.${name}.dtype: expected float64, found ${tensor.dtype}`, { path, name });
  }
  if (!sameShape(tensor.shape, forward.shape)) {
    throw fixtureError(`${path}: shape does not match ${FORWARD_META_FILE} shape: expected ${formatShape(forward.shape)}, found ${formatShape(tensor.shape)}`, {
      path,
      name,
      expected: forward.shape,
      found: tensor.shape,
    });
  }
  return tensor as Float64Tensor;
}

/** y and y-magnitude of a fixture folder whose forward.json is `forward` (read and validated), as a ForwardExpectation. */
export function loadForwardTensors(folder: string, forward: ForwardMeta, verifyChecksums = true): ForwardExpectation {
  const [y, yMagnitude] = FORWARD_TENSOR_NAMES.map((name) => decodeForwardTensorFile(folder, forward, name, readForwardTensorFile(folder, forward, name, verifyChecksums)));
  return { y, yMagnitude, rule: forward.tolerance.rule, accumulationLength: forward.tolerance.outputs.y.accumulationLength };
}

/** The exact text of forward.json: canonical key order, 2-space indentation, trailing newline. */
export function serializeForwardMeta(forward: ForwardMeta): string {
  const canonical: ForwardMeta = {
    id: forward.id,
    formatVersion: forward.formatVersion,
    op: forward.op,
    description: forward.description,
    shape: [...forward.shape],
    files: Object.fromEntries(
      FORWARD_TENSOR_NAMES.map((name): [string, FixtureFile] => {
        const file = forward.files[name];
        return [name, { path: file.path, dtype: file.dtype, sha256: file.sha256 }];
      }),
    ) as ForwardMeta['files'],
    tolerance: {
      rule: forward.tolerance.rule,
      unitRoundoff: forward.tolerance.unitRoundoff,
      underflowSpacing: forward.tolerance.underflowSpacing,
      outputs: { y: { accumulationLength: forward.tolerance.outputs.y.accumulationLength, magnitude: forward.tolerance.outputs.y.magnitude } },
    },
    witnesses: { agreed: forward.witnesses.agreed, backends: [...forward.witnesses.backends] },
  };
  return `${JSON.stringify(canonical, null, 2)}\n`;
}

/** What writeForwardFiles wrote. */
export interface WrittenForward {
  forward: ForwardMeta;
  /** sha256 of the forward.json written. */
  sha256: string;
  /** Bytes of the three files. */
  bytes: number;
}

/**
 * Write y.npy, y-magnitude.npy, then forward.json into the fixture folder `dir` (already
 * written by writeFixtureFolder, whose metadata is `meta`), each atomically. Validated
 * (schema, consistency with `meta`, y's shape) before anything is written.
 */
export async function writeForwardFiles(
  dir: string,
  meta: FixtureMeta,
  forward: ForwardExpectation,
  witnesses: ForwardMeta['witnesses'],
): Promise<WrittenForward> {
  const source = join(dir, FORWARD_META_FILE);
  const info = DTYPE_INFO[meta.dtype];
  const placeholderSha256 = '0'.repeat(64);
  const files = Object.fromEntries(
    FORWARD_TENSOR_NAMES.map((name): [string, FixtureFile] => [name, { path: forwardTensorFileName(name), dtype: 'float64', sha256: placeholderSha256 }]),
  ) as ForwardMeta['files'];
  const draft: ForwardMeta = {
    id: meta.id,
    formatVersion: FORMAT_VERSION,
    op: 'conv2d_forward',
    description: FORWARD_DESCRIPTION,
    shape: [...meta.shapes.dy],
    files,
    tolerance: {
      rule: forward.rule,
      unitRoundoff: info.unitRoundoff,
      underflowSpacing: info.underflowSpacing,
      outputs: { y: { accumulationLength: forward.accumulationLength, magnitude: 'y-magnitude' } },
    },
    witnesses: { agreed: witnesses.agreed, backends: [...witnesses.backends] },
  };
  const checked = validateForwardMeta(draft, source);
  checkForwardConsistency(checked, meta, source);
  const tensors: Record<ForwardTensorName, Tensor> = { y: forward.y, 'y-magnitude': forward.yMagnitude };
  const encoded: { file: string; bytes: Uint8Array }[] = [];
  for (const name of FORWARD_TENSOR_NAMES) {
    const tensor = tensors[name];
    if (tensor.dtype !== 'float64' || !sameShape(tensor.shape, checked.shape)) {
      throw fixtureError(`${dir}: tensor ${name}: expected float64 shape ${formatShape(checked.shape)}, found ${tensor.dtype} shape ${formatShape(tensor.shape)}`, { dir, name });
    }
    const file = files[name].path;
    const bytes = writeNpy(tensor, join(dir, file));
    encoded.push({ file, bytes });
    files[name].sha256 = sha256Hex(bytes);
  }
  const text = serializeForwardMeta(checked);
  for (const { file, bytes } of encoded) await writeFileAtomic(join(dir, file), bytes);
  await writeFileAtomic(source, text);
  return { forward: checked, sha256: sha256Hex(text), bytes: encoded.reduce((sum, { bytes }) => sum + bytes.length, Buffer.byteLength(text)) };
}

/**
 * Load a fixture folder: fixture.json (readFixtureMeta), then its tensors
 * (loadFixtureTensors: sha256 unless verifyChecksums is false, dtype and shape).
 */
export async function loadFixture(dir: string, options: LoadFixtureOptions = {}): Promise<LoadedFixture> {
  return loadFixtureTensors(dir, readFixtureMeta(dir).meta, options);
}
