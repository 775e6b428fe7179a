/**
 * NumPy .npy files: the project's one reader and a writer whose output is
 * byte-identical to numpy's `np.save` (format 1.0).
 *
 * Format (numpy.lib.format): magic "\x93NUMPY", major and minor version bytes,
 * header length (uint16 LE for 1.0, uint32 LE for 2.0 and 3.0), then the header:
 * a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), }
 * padded with spaces and a final '\n' (latin-1 for 1.0/2.0, UTF-8 for 3.0), then
 * the raw elements. float16/32/64 only. Strict mode (the corpus, which is ours):
 * little-endian, C order. Converting mode (adapter outputs): big-endian data and
 * Fortran order are accepted too, and come back little-endian in C order.
 */
import { closeSync } from 'node:fs';
import { DTYPE_INFO, expectedArrayType } from './dtype.js';
import { ConformanceError, describeValue } from './errors.js';
import { checkFileSize, MAX_READ_BYTES, openRegularFile, readExactly } from './regular-file.js';
import { DTYPES, type Dtype, type Tensor, type TensorData } from './types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAGIC_TEXT = '\\x93NUMPY';
/** numpy aligns the start of the data to 64 bytes. */
const ARRAY_ALIGN = 64;
/** numpy pads the header so the first axis can grow to this many digits in place. */
const GROWTH_AXIS_MAX_DIGITS = 21;
/** numpy's NPY_MAXDIMS (numpy 2). */
export const NPY_MAX_DIMENSIONS = 64;
/** Refuse shapes with more elements than this before allocating anything. */
export const NPY_MAX_ELEMENTS = 2 ** 31;
/** numpy's own limit on the header size it will parse (_MAX_HEADER_SIZE). */
const MAX_HEADER_BYTES = 10000;
/** Bytes before the header text in format 2.0 and 3.0 (magic, version, uint32 length). */
const MAX_PREAMBLE_BYTES = 12;
/** Literals nested deeper than this in a header are refused (a shape is one tuple deep). */
const MAX_LITERAL_DEPTH = 16;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// '<u2' holds bfloat16 bits: numpy has no bfloat16, and no fixture stores other unsigned integers.
const DESCR_TO_DTYPE: Record<string, Dtype> = { '<f2': 'float16', '<f4': 'float32', '<f8': 'float64', '<u2': 'bfloat16' };
const BIG_ENDIAN_DESCR_TO_DTYPE: Record<string, Dtype> = { '>f2': 'float16', '>f4': 'float32', '>f8': 'float64', '>u2': 'bfloat16' };
const SUPPORTED_DESCRS = Object.keys(DESCR_TO_DTYPE).map((descr) => `'${descr}'`).join(', ');

/** What the header of a .npy file says. */
export interface NpyHeader {
  version: [number, number];
  /** As in the file: '<f4', or '>f4' (converting mode only). */
  descr: string;
  dtype: Dtype;
  /** false in strict mode. */
  littleEndian: boolean;
  /** false in strict mode. */
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first data byte. */
  dataOffset: number;
  /** Bytes of data the shape and dtype call for. */
  dataBytes: number;
}

/** Options of the readers. */
export interface NpyReadOptions {
  /**
   * false (default, strict): only little-endian data in C order.
   * true: big-endian data and Fortran order are accepted and converted (for adapter outputs).
   */
  convert?: boolean;
}

function npyError(source: string, message: string, context: Record<string, unknown> = {}): ConformanceError {
  return new ConformanceError('E_NPY', `${source}: ${message}`, { source, ...context });
}

// ---------------------------------------------------------------------------
// Reading

/** Parse and check the header of a .npy file (`bytes` from its start: the whole file or its first bytes), without touching the data. */
export function readNpyHeader(bytes: Uint8Array, source: string, options: NpyReadOptions = {}): NpyHeader {
  requireLittleEndianHost(source);
  const prefixMatches = MAGIC.every((byte, index) => index >= bytes.length || bytes[index] === byte);
  if (!prefixMatches) {
    throw npyError(source, `not a .npy file: expected the magic string ${MAGIC_TEXT}, found ${escapeBytes(bytes.subarray(0, MAGIC.length))}`);
  }
  if (bytes.length < 8) {
    throw npyError(source, `truncated header: expected at least 8 bytes (magic string and version), found ${bytes.length}`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (minor !== 0 || major < 1 || major > 3) {
    throw npyError(source, `unsupported .npy format version ${major}.${minor}: expected 1.0, 2.0 or 3.0`, { version: [major, minor] });
  }
  const lengthFieldBytes = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthFieldBytes;
  if (bytes.length < headerStart) {
    throw npyError(source, `truncated header: format ${major}.0 needs ${headerStart} bytes before the header text, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES) {
    throw npyError(source, `header length ${headerLength} bytes is not plausible: expected at most ${MAX_HEADER_BYTES}`, { headerLength });
  }
  const dataOffset = headerStart + headerLength;
  if (bytes.length < dataOffset) {
    throw npyError(
      source,
      `truncated header: the header declares ${headerLength} bytes of text after byte ${headerStart}, found only ${bytes.length - headerStart}`,
      { headerLength, fileBytes: bytes.length },
    );
  }
  const headerBytes = bytes.subarray(headerStart, dataOffset);
  let text: string;
  try {
    text = (major === 3 ? UTF8_DECODER : LATIN1_DECODER).decode(headerBytes);
  } catch (error) {
    throw npyError(source, `header is not valid ${major === 3 ? 'UTF-8' : 'latin-1'} text: ${(error as Error).message}`);
  }

  const convert = options.convert === true;
  const dict = parseCanonicalHeader(text) ?? parseHeaderDict(text, source);
  const { descr, dtype, littleEndian } = checkDescr(dict.get('descr'), source, convert);
  const fortranOrder = dict.get('fortran_order');
  if (fortranOrder?.kind !== 'bool') {
    throw npyError(source, `header 'fortran_order': expected ${convert ? 'True or False' : 'False'}, found ${describeLiteral(fortranOrder)}`);
  }
  if (fortranOrder.value && !convert) {
    throw npyError(source, "fortran_order is True: expected False (C order); Fortran-ordered arrays are not supported, save with np.ascontiguousarray");
  }
  const { shape, elements } = checkShape(dict.get('shape'), source);
  return { version: [major, minor], descr, dtype, littleEndian, fortranOrder: fortranOrder.value, shape, dataOffset, dataBytes: elements * DTYPE_INFO[dtype].bytes };
}

/** Options of readNpy. */
export interface ReadNpyOptions extends NpyReadOptions {
  /**
   * true (default): the data is a fresh typed array (offset 0, its own buffer) sharing nothing with `bytes`.
   * false: the data may be a view into `bytes`' buffer (when `bytes` is that whole buffer, the data is
   * aligned, little-endian and in C order), saving a copy; for callers that own `bytes` and never change or reuse them.
   */
  copy?: boolean;
}

/** The data-length message of a file whose data is not what its header calls for. */
function dataLengthMessage(header: NpyHeader, found: number): string {
  const { dataBytes, dtype, shape, descr } = header;
  const needed = `the header's shape ${formatShape(shape)} of ${descr} (${DTYPE_INFO[dtype].bytes} bytes each) needs ${dataBytes} data bytes`;
  return found < dataBytes
    ? `truncated data: ${needed}, found ${found}`
    : `data length does not match the header: ${needed}, found ${found} (${found - dataBytes} extra bytes)`;
}

/**
 * Read a .npy file's bytes into a tensor. The header is checked (see
 * readNpyHeader); the data must be exactly as long as the shape calls for.
 * `source` (a file path) is named in every error. Unless `options.copy` is
 * false, the returned data is a fresh typed array (offset 0, its own buffer)
 * that shares nothing with `bytes`; float16 data comes back as raw bits in a Uint16Array.
 */
export function readNpy(bytes: Uint8Array, source: string, options: ReadNpyOptions = {}): Tensor {
  const header = readNpyHeader(bytes, source, options);
  const found = bytes.length - header.dataOffset;
  if (found !== header.dataBytes) {
    throw npyError(source, dataLengthMessage(header, found), { expectedBytes: header.dataBytes, foundBytes: found, shape: header.shape });
  }
  // A view is possible only into a buffer that is exactly these bytes (the caller's to give up).
  const mayView = options.copy === false && bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
  return decodeNpyData(header, bytes.subarray(header.dataOffset), !mayView);
}

/**
 * The tensor of a file's data bytes (exactly header.dataBytes of them, from the header's
 * dataOffset). `copy` false: the bytes are the caller's to give up, so an aligned
 * little-endian C-order array may be a view into them instead of a copy.
 */
function decodeNpyData(header: NpyHeader, data: Uint8Array, copy: boolean): Tensor {
  const { dtype, shape, dataBytes } = header;
  const elementBytes = DTYPE_INFO[dtype].bytes;
  const elements = dataBytes / elementBytes;
  const ArrayType = dtype === 'float64' ? Float64Array : dtype === 'float32' ? Float32Array : Uint16Array;
  const native = header.littleEndian && !header.fortranOrder;
  let values: TensorData;
  if (native && !copy && data.byteOffset % elementBytes === 0) {
    values = new ArrayType(data.buffer as ArrayBuffer, data.byteOffset, elements);
  } else {
    // A copy at offset 0 of a new buffer (byte for byte: NaN payloads survive), then put right in place.
    const own = new Uint8Array(dataBytes);
    own.set(data.subarray(0, dataBytes));
    if (!header.littleEndian) swapBytes(own, elementBytes);
    values = new ArrayType(own.buffer, 0, elements);
    if (header.fortranOrder) values = fortranToC(values, shape);
  }
  return { dtype, shape, data: values };
}

/** Reverse the bytes of each element in place (big-endian to little-endian). */
function swapBytes(bytes: Uint8Array, elementBytes: number): void {
  for (let start = 0; start < bytes.length; start += elementBytes) {
    for (let low = start, high = start + elementBytes - 1; low < high; low++, high--) {
      const byte = bytes[low];
      bytes[low] = bytes[high];
      bytes[high] = byte;
    }
  }
}

/**
 * The same array in C order. In Fortran order the element at index (i_0, ..., i_{n-1})
 * of shape (d_0, ..., d_{n-1}) sits at sum_k i_k * prod_{j<k} d_j; the output is
 * walked in C order (last axis fastest) with an odometer over the indices.
 */
function fortranToC<T extends TensorData>(source: T, shape: readonly number[]): T {
  const rank = shape.length;
  const target = new (source.constructor as new (length: number) => T)(source.length);
  if (rank <= 1 || source.length === 0) {
    target.set(source);
    return target;
  }
  const fortranStrides: number[] = [];
  let stride = 1;
  for (let axis = 0; axis < rank; axis++) {
    fortranStrides.push(stride);
    stride *= shape[axis];
  }
  const index = new Array<number>(rank).fill(0);
  let sourceOffset = 0;
  for (let targetOffset = 0; targetOffset < target.length; targetOffset++) {
    target[targetOffset] = source[sourceOffset];
    // Advance the odometer: last axis first, carrying into earlier axes.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis] += 1;
      sourceOffset += fortranStrides[axis];
      if (index[axis] < shape[axis]) break;
      sourceOffset -= index[axis] * fortranStrides[axis];
      index[axis] = 0;
    }
  }
  return target;
}

/** Options of readNpyFileSync and readNpyFile. */
export interface ReadNpyFileOptions extends NpyReadOptions {
  /**
   * The tensor the caller expects (an adapter's output): a file whose header calls for
   * more data than it is refused before its data is read.
   */
  expected?: { dtype: Dtype; shape: readonly number[]; what: string };
}

/**
 * Read a .npy file from disk: opened as a regular file (src/regular-file.ts: no symbolic
 * link, FIFO or folder), its header read first, and its size compared with what the
 * header calls for before the data is read (a wrong-size file is refused in O(1)). The
 * data is read once, into a buffer the returned tensor may view.
 */
export function readNpyFileSync(path: string, options: ReadNpyFileOptions = {}): Tensor {
  const { descriptor, size } = openRegularFile(path, 'a .npy file');
  try {
    const prefix = readExactly(descriptor, path, 0, Math.min(size, MAX_PREAMBLE_BYTES + MAX_HEADER_BYTES));
    const header = readNpyHeader(prefix, path, options);
    const { expected } = options;
    if (expected !== undefined) {
      const expectedBytes = expected.shape.reduce((product, length) => product * length, 1) * DTYPE_INFO[expected.dtype].bytes;
      if (header.dataBytes > expectedBytes) {
        throw npyError(
          path,
          `the header's shape ${formatShape(header.shape)} of ${header.descr} needs ${header.dataBytes} data bytes, ` +
            `more than the ${expectedBytes} of ${expected.what} (${expected.dtype}, shape [${expected.shape.join(', ')}])`,
          { expectedBytes, headerBytes: header.dataBytes },
        );
      }
    }
    const found = size - header.dataOffset;
    if (found !== header.dataBytes) {
      throw npyError(path, dataLengthMessage(header, found), { expectedBytes: header.dataBytes, foundBytes: found, shape: header.shape });
    }
    checkFileSize(path, size, { max: MAX_READ_BYTES, why: 'the largest .npy file this reader holds in memory' });
    const data = readExactly(descriptor, path, header.dataOffset, header.dataBytes);
    return decodeNpyData(header, data, false);
  } finally {
    closeSync(descriptor);
  }
}

/** readNpyFileSync behind a promise (the public API's form). */
export async function readNpyFile(path: string, options: ReadNpyFileOptions = {}): Promise<Tensor> {
  return readNpyFileSync(path, options);
}

// ---------------------------------------------------------------------------
// Header dict: a small parser for the Python literals numpy writes.

type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' }
  | { kind: 'number'; text: string }
  | { kind: 'tuple'; items: Literal[] }
  | { kind: 'list'; items: Literal[] }
  | { kind: 'dict'; entries: [Literal, Literal][] };

const EXPECTED_KEYS = ['descr', 'fortran_order', 'shape'];

/** Decoders are stateless between decode() calls without { stream: true }: one of each serves every file. */
const LATIN1_DECODER = new TextDecoder('latin1', { fatal: true });
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * The header exactly as np.save writes it: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * then spaces and '\n'. The shape is `()`, `(5,)`, `(2, 3)` or `(2, 3,)`; never `(5)` (a number, not a tuple).
 */
const CANONICAL_HEADER = /^\{'descr': '([<>|=]?[a-z][0-9]+)', 'fortran_order': (True|False), 'shape': \(((?:[0-9]+, )*[0-9]+,|(?:[0-9]+, )+[0-9]+|)\), \} *\n$/;

/**
 * Fast path for the common case: a header in np.save's own layout parses to the
 * same literals the general parser (parseHeaderDict) would give, without it.
 * Returns null for any other layout, which then goes through the general parser.
 */
function parseCanonicalHeader(text: string): Map<string, Literal> | null {
  const match = CANONICAL_HEADER.exec(text);
  if (match === null) return null;
  const sizes = match[3].split(',').map((size) => size.trim()).filter((size) => size !== '');
  return new Map<string, Literal>([
    ['descr', { kind: 'string', value: match[1] }],
    ['fortran_order', { kind: 'bool', value: match[2] === 'True' }],
    ['shape', { kind: 'tuple', items: sizes.map((size): Literal => ({ kind: 'number', text: size })) }],
  ]);
}

function parseHeaderDict(text: string, source: string): Map<string, Literal> {
  const parser = new LiteralParser(text, source);
  parser.skipWhitespace();
  const value = parser.parseValue();
  parser.skipWhitespace();
  if (!parser.atEnd()) parser.fail(`expected only padding after the header dict`);
  if (value.kind !== 'dict') {
    throw npyError(source, `header is not a dict: expected {'descr': ..., 'fortran_order': ..., 'shape': ...}, found ${describeLiteral(value)}`);
  }
  const dict = new Map<string, Literal>();
  for (const [key, entry] of value.entries) {
    if (key.kind !== 'string') throw npyError(source, `header key: expected a string, found ${describeLiteral(key)}`);
    if (dict.has(key.value)) throw npyError(source, `header key '${key.value}' appears twice`);
    dict.set(key.value, entry);
  }
  const keys = [...dict.keys()].sort();
  if (keys.length !== EXPECTED_KEYS.length || keys.some((key, index) => key !== EXPECTED_KEYS[index])) {
    throw npyError(source, `header keys: expected exactly ${EXPECTED_KEYS.map((key) => `'${key}'`).join(', ')}, found ${keys.map((key) => `'${key}'`).join(', ') || 'none'}`);
  }
  return dict;
}

class LiteralParser {
  private position = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  skipWhitespace(): void {
    while (!this.atEnd() && ' \t\n\r'.includes(this.text[this.position])) this.position += 1;
  }

  fail(expected: string): never {
    const found = this.atEnd() ? 'the end of the header' : describeValue(this.text.slice(this.position, this.position + 20));
    throw npyError(this.source, `malformed header at character ${this.position}: ${expected}, found ${found} (header ${describeValue(this.text.trimEnd())})`);
  }

  parseValue(): Literal {
    if (this.atEnd()) this.fail('expected a value');
    const character = this.text[this.position];
    if (character === "'" || character === '"') return this.parseString(character);
    if (character === '(' || character === '[' || character === '{') {
      // Recursion is bounded here, so a header of 10000 '(' is an E_NPY, not a stack overflow.
      if (this.depth >= MAX_LITERAL_DEPTH) this.fail(`expected literals nested at most ${MAX_LITERAL_DEPTH} deep`);
      this.depth += 1;
      const value = character === '{' ? this.parseDict() : character === '(' ? this.parseSequence('(', ')') : this.parseSequence('[', ']');
      this.depth -= 1;
      return value;
    }
    const word = /^[-+]?[A-Za-z0-9_.]+/.exec(this.text.slice(this.position))?.[0];
    if (word === undefined) this.fail('expected a value (string, number, True, False, None, tuple, list or dict)');
    this.position += word.length;
    if (word === 'True' || word === 'False') return { kind: 'bool', value: word === 'True' };
    if (word === 'None') return { kind: 'none' };
    if (/^[-+]?[0-9]/.test(word)) return { kind: 'number', text: word };
    this.position -= word.length;
    this.fail('expected a value (string, number, True, False, None, tuple, list or dict)');
  }

  private parseString(quote: string): Literal {
    const end = this.text.indexOf(quote, this.position + 1);
    if (end < 0) this.fail(`expected a closing ${quote}`);
    const value = this.text.slice(this.position + 1, end);
    if (value.includes('\\') || value.includes('\n')) this.fail('expected a plain string without escapes');
    this.position = end + 1;
    return { kind: 'string', value };
  }

  private parseSequence(open: '(' | '[', close: ')' | ']'): Literal {
    this.position += 1; // the opening bracket
    const items: Literal[] = [];
    let trailingComma = false;
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.position] === close) break;
      if (items.length > 0 && !trailingComma) this.fail(`expected ',' or '${close}'`);
      items.push(this.parseValue());
      this.skipWhitespace();
      trailingComma = this.text[this.position] === ',';
      if (trailingComma) this.position += 1;
    }
    this.position += 1; // the closing bracket
    if (open === '(') {
      // (5) is the number 5 in Python; only (5,) is a tuple.
      if (items.length === 1 && !trailingComma) return items[0];
      return { kind: 'tuple', items };
    }
    return { kind: 'list', items };
  }

  private parseDict(): Literal {
    this.position += 1; // {
    const entries: [Literal, Literal][] = [];
    let trailingComma = false;
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.position] === '}') break;
      if (entries.length > 0 && !trailingComma) this.fail("expected ',' or '}'");
      const key = this.parseValue();
      this.skipWhitespace();
      if (this.text[this.position] !== ':') this.fail("expected ':' after a dict key");
      this.position += 1;
      this.skipWhitespace();
      const value = this.parseValue();
      entries.push([key, value]);
      this.skipWhitespace();
      trailingComma = this.text[this.position] === ',';
      if (trailingComma) this.position += 1;
    }
    this.position += 1; // }
    return { kind: 'dict', entries };
  }
}

function describeLiteral(value: Literal | undefined): string {
  if (value === undefined) return 'nothing';
  switch (value.kind) {
    case 'string':
      return `'${value.value}'`;
    case 'bool':
      return value.value ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'number':
      return value.text;
    case 'tuple':
      return value.items.length === 1 ? `(${describeLiteral(value.items[0])},)` : `(${value.items.map(describeLiteral).join(', ')})`;
    case 'list':
      return `[${value.items.map(describeLiteral).join(', ')}]`;
    case 'dict':
      return `{${value.entries.map(([key, entry]) => `${describeLiteral(key)}: ${describeLiteral(entry)}`).join(', ')}}`;
  }
}

function checkDescr(value: Literal | undefined, source: string, convert: boolean): { descr: string; dtype: Dtype; littleEndian: boolean } {
  if (value?.kind === 'list') {
    throw npyError(source, `unsupported dtype: structured dtype ${describeLiteral(value)}; expected one of ${SUPPORTED_DESCRS}`);
  }
  if (value?.kind !== 'string') {
    throw npyError(source, `header 'descr': expected a dtype string, one of ${SUPPORTED_DESCRS}, found ${describeLiteral(value)}`);
  }
  const descr = value.value;
  if (descr in DESCR_TO_DTYPE) return { descr, dtype: DESCR_TO_DTYPE[descr], littleEndian: true };
  if (descr in BIG_ENDIAN_DESCR_TO_DTYPE) {
    if (convert) return { descr, dtype: BIG_ENDIAN_DESCR_TO_DTYPE[descr], littleEndian: false };
    throw npyError(source, `big-endian data ('${descr}') is not supported: expected little-endian '<${descr.slice(1)}' (save with arr.astype('<${descr.slice(1)}'))`, {
      descr,
    });
  }
  const supportedDtypes = DTYPES.join(', ');
  const supported = convert ? `${SUPPORTED_DESCRS} or big-endian ${Object.keys(BIG_ENDIAN_DESCR_TO_DTYPE).map((name) => `'${name}'`).join(', ')}` : SUPPORTED_DESCRS;
  throw npyError(source, `unsupported dtype '${descr}': expected one of ${supported} (${supportedDtypes})`, { descr });
}

function checkShape(value: Literal | undefined, source: string): { shape: number[]; elements: number } {
  if (value?.kind !== 'tuple') {
    throw npyError(source, `header 'shape': expected a tuple of integers like (2, 3) or (5,), found ${describeLiteral(value)}`);
  }
  if (value.items.length > NPY_MAX_DIMENSIONS) {
    throw npyError(source, `absurd shape: expected at most ${NPY_MAX_DIMENSIONS} dimensions, found ${value.items.length}`);
  }
  const shape = value.items.map((item, axis) => {
    if (item.kind !== 'number' || !/^[+-]?(0|[1-9][0-9]*)$/.test(item.text)) {
      throw npyError(source, `absurd shape ${describeLiteral(value)}: dimension ${axis} is ${describeLiteral(item)}, expected a non-negative integer`);
    }
    const size = Number(item.text) + 0; // + 0 turns -0 into 0
    if (size < 0) {
      throw npyError(source, `absurd shape ${describeLiteral(value)}: dimension ${axis} is negative (${item.text}), expected a non-negative integer`);
    }
    return size;
  });
  const elements = countElements(shape);
  if (elements > NPY_MAX_ELEMENTS) {
    // The exact count, from the digits themselves (the sizes may be beyond 2^53).
    const exact = value.items.reduce((product, item) => product * BigInt((item as { text: string }).text), 1n);
    throw npyError(source, `absurd shape ${describeLiteral(value)}: ${exact} elements, expected at most 2^31 = ${NPY_MAX_ELEMENTS}`, {
      shape,
    });
  }
  return { shape, elements };
}

/** Product of the sizes; Infinity once it passes the cap (so huge shapes never produce NaN or lose precision). */
function countElements(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let elements = 1;
  for (const size of shape) {
    elements *= size;
    if (elements > NPY_MAX_ELEMENTS) return Infinity;
  }
  return elements;
}

// ---------------------------------------------------------------------------
// Writing

/**
 * Encode a tensor as a .npy file (format 1.0, little-endian, C order), with the
 * same bytes np.save writes for the same array. `name` is used in error messages.
 */
export function writeNpy(tensor: Tensor, name = 'tensor'): Uint8Array {
  requireLittleEndianHost(name);
  const { dtype, shape, data } = tensor;
  if (!DTYPES.includes(dtype)) {
    throw npyError(name, `cannot write dtype ${describeValue(dtype)}: expected one of ${DTYPES.join(', ')}`);
  }
  const elements = checkWritableShape(shape, name);
  const expectedType = expectedArrayType(dtype);
  if (data?.constructor?.name !== expectedType) {
    throw npyError(name, `${dtype} data: expected a ${expectedType}, found ${data?.constructor?.name ?? describeValue(data)}`);
  }
  if (data.length !== elements) {
    throw npyError(name, `data length does not match the shape: expected ${formatShape(shape)} = ${elements} elements, found ${data.length}`);
  }
  const info = DTYPE_INFO[dtype];
  const header = encodeNpyHeader(info.npyDescr, shape);
  const bytes = new Uint8Array(header.length + data.byteLength);
  bytes.set(header, 0);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return bytes;
}

/** np.save's header for a C-order array: magic, version 1.0, length, dict, padding to 64 bytes. */
export function encodeNpyHeader(descr: string, shape: readonly number[]): Uint8Array {
  // numpy: "{" + "'key': repr(value), " for the sorted keys + "}", then room for the first axis to grow.
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${formatShape(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const textLength = dict.length + 1; // the final '\n'
  // numpy adds a full 64 bytes of padding when the rest is already aligned (padlen = 64 - (n % 64)).
  const padding = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + textLength) % ARRAY_ALIGN);
  const headerLength = textLength + padding;
  const bytes = new Uint8Array(MAGIC.length + 2 + 2 + headerLength);
  bytes.set(MAGIC, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  new DataView(bytes.buffer).setUint16(8, headerLength, true);
  const text = `${dict}${' '.repeat(padding)}\n`;
  for (let index = 0; index < text.length; index++) bytes[10 + index] = text.charCodeAt(index);
  return bytes;
}

/** Python's repr of a shape tuple: (), (5,), (2, 3). */
export function formatShape(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function checkWritableShape(shape: unknown, name: string): number {
  if (!Array.isArray(shape) || shape.length > NPY_MAX_DIMENSIONS) {
    throw npyError(name, `shape: expected an array of at most ${NPY_MAX_DIMENSIONS} non-negative integers, found ${describeValue(shape)}`);
  }
  shape.forEach((size: unknown, axis) => {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw npyError(name, `shape[${axis}]: expected a non-negative integer, found ${describeValue(size)}`);
    }
  });
  const elements = countElements(shape as number[]);
  if (elements > NPY_MAX_ELEMENTS) {
    throw npyError(name, `shape ${describeValue(shape)} has more than 2^31 = ${NPY_MAX_ELEMENTS} elements: expected at most that many`);
  }
  return elements;
}

// ---------------------------------------------------------------------------

function requireLittleEndianHost(source: string): void {
  if (!HOST_LITTLE_ENDIAN) throw npyError(source, 'this host is big-endian: expected a little-endian host (typed arrays use the host byte order)');
}

/** Bytes as a Python-like escaped string, e.g. "PK\x03\x04". */
function escapeBytes(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${text}"`;
}
