/**
 * NumPy .npy files: a strict reader (header checked here, data decoded by npyjs)
 * and a writer whose output is byte-identical to numpy's `np.save` (format 1.0).
 *
 * Format (numpy.lib.format): magic "\x93NUMPY", major and minor version bytes,
 * header length (uint16 LE for 1.0, uint32 LE for 2.0 and 3.0), then the header:
 * a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), }
 * padded with spaces and a final '\n' (latin-1 for 1.0/2.0, UTF-8 for 3.0), then
 * the raw elements. Only little-endian float16/32/64 in C order are accepted.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as npyjsParse } from 'npyjs';
import { DTYPE_INFO, expectedArrayType } from './dtype.js';
import { ConformanceError, describeValue } from './errors.js';
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

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// '<u2' holds bfloat16 bits: numpy has no bfloat16, and no fixture stores other unsigned integers.
const DESCR_TO_DTYPE: Record<string, Dtype> = { '<f2': 'float16', '<f4': 'float32', '<f8': 'float64', '<u2': 'bfloat16' };
const SUPPORTED_DESCRS = Object.keys(DESCR_TO_DTYPE).map((descr) => `'${descr}'`).join(', ');

/** What the header of a .npy file says. */
export interface NpyHeader {
  version: [number, number];
  descr: '<f2' | '<f4' | '<f8' | '<u2';
  dtype: Dtype;
  fortranOrder: false;
  shape: number[];
  /** Offset of the first data byte. */
  dataOffset: number;
  /** Bytes of data the shape and dtype call for. */
  dataBytes: number;
}

function npyError(source: string, message: string, context: Record<string, unknown> = {}): ConformanceError {
  return new ConformanceError('E_NPY', `${source}: ${message}`, { source, ...context });
}

// ---------------------------------------------------------------------------
// Reading

/** Parse and check the header of a .npy file, without touching the data. */
export function readNpyHeader(bytes: Uint8Array, source: string): NpyHeader {
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

  const dict = parseCanonicalHeader(text) ?? parseHeaderDict(text, source);
  const descr = checkDescr(dict.get('descr'), source);
  const fortranOrder = dict.get('fortran_order');
  if (fortranOrder?.kind !== 'bool') {
    throw npyError(source, `header 'fortran_order': expected False, found ${describeLiteral(fortranOrder)}`);
  }
  if (fortranOrder.value) {
    throw npyError(source, "fortran_order is True: expected False (C order); Fortran-ordered arrays are not supported, save with np.ascontiguousarray");
  }
  const { shape, elements } = checkShape(dict.get('shape'), source);
  const dtype = DESCR_TO_DTYPE[descr];
  return { version: [major, minor], descr, dtype, fortranOrder: false, shape, dataOffset, dataBytes: elements * DTYPE_INFO[dtype].bytes };
}

/** Options of readNpy. */
export interface ReadNpyOptions {
  /**
   * true (default): the data is a fresh typed array (offset 0, its own buffer) sharing nothing with `bytes`.
   * false: the data may be a view into `bytes`' buffer (when `bytes` is that whole buffer and the data is
   * aligned), saving a copy; for callers that own `bytes` and never change or reuse them.
   */
  copy?: boolean;
}

/**
 * Read a .npy file's bytes into a tensor. The header is checked strictly (see
 * readNpyHeader); the data must be exactly as long as the shape calls for.
 * `source` (a file path) is named in every error. Unless `options.copy` is
 * false, the returned data is a fresh typed array (offset 0, its own buffer)
 * that shares nothing with `bytes`; float16 data comes back as raw bits in a Uint16Array.
 */
export function readNpy(bytes: Uint8Array, source: string, options: ReadNpyOptions = {}): Tensor {
  const header = readNpyHeader(bytes, source);
  const { dataOffset, dataBytes, dtype, shape, descr } = header;
  const found = bytes.length - dataOffset;
  if (found !== dataBytes) {
    const needed = `the header's shape ${formatShape(shape)} of ${descr} (${DTYPE_INFO[dtype].bytes} bytes each) needs ${dataBytes} data bytes`;
    const message =
      found < dataBytes
        ? `truncated data: ${needed}, found ${found}`
        : `data length does not match the header: ${needed}, found ${found} (${found - dataBytes} extra bytes)`;
    throw npyError(source, message, { expectedBytes: dataBytes, foundBytes: found, shape });
  }

  // npyjs builds a typed array over the data at its offset; it needs that offset to be
  // a multiple of the element size. numpy's (64-aligned) files always are; otherwise
  // hand it the same data behind a canonical header.
  const elementBytes = DTYPE_INFO[dtype].bytes;
  let npyjsInput: ArrayBuffer;
  if (dataOffset % elementBytes === 0) {
    // npyjs only makes a view (it does not copy and does not write); the slice() below copies
    // (unless options.copy is false). So a buffer that is exactly the file can be handed over as it is.
    const wholeBuffer = bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength === bytes.byteLength;
    npyjsInput = wholeBuffer ? (bytes.buffer as ArrayBuffer) : copyToArrayBuffer(bytes, 0, dataOffset + dataBytes);
  } else {
    const canonicalHeader = encodeNpyHeader(descr, shape);
    const combined = new Uint8Array(canonicalHeader.length + dataBytes);
    combined.set(canonicalHeader, 0);
    combined.set(bytes.subarray(dataOffset, dataOffset + dataBytes), canonicalHeader.length);
    npyjsInput = combined.buffer;
  }
  let parsed: ReturnType<typeof npyjsParse>;
  try {
    parsed = npyjsParse(npyjsInput, { convertFloat16: false });
  } catch (error) {
    throw npyError(source, `npyjs could not decode the data: ${(error as Error).message}`);
  }
  const expectedType = expectedArrayType(dtype);
  const elements = dataBytes / elementBytes;
  if (
    parsed.dtype !== descr.slice(1) ||
    parsed.fortranOrder ||
    parsed.shape.length !== shape.length ||
    parsed.shape.some((size, axis) => size !== shape[axis]) ||
    parsed.data.constructor.name !== expectedType ||
    (parsed.data as TensorData).length !== elements
  ) {
    throw npyError(
      source,
      `npyjs read the file differently from its header: expected ${descr} ${formatShape(shape)} as a ${expectedType} of ${elements} elements, ` +
        `found ${parsed.dtype} ${describeValue(parsed.shape)} as a ${parsed.data.constructor.name}`,
    );
  }
  if (options.copy === false) {
    // The view is over `bytes` (which the caller gives up) or over the private copy made above.
    return { dtype, shape, data: parsed.data as TensorData };
  }
  // slice() of a typed array copies into a new buffer at offset 0 (byte for byte: NaN payloads survive).
  const data = (parsed.data as TensorData).slice();
  return { dtype, shape, data };
}

/** Read a .npy file from disk (see readNpy). */
export async function readNpyFile(path: string): Promise<Tensor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw npyError(path, `cannot read the file: ${(error as Error).message}`, { cause: (error as NodeJS.ErrnoException).code });
  }
  return readNpy(bytes, path);
}

/**
 * A file's bytes, read synchronously into a buffer of their own (not a slice of
 * Node's shared pool, which readFileSync uses for small files), so that
 * readNpy(bytes, path, { copy: false }) can hand out views into it without a copy.
 * Throws the fs error (ENOENT...) as it comes.
 */
export function readFileOwnedSync(path: string): Uint8Array {
  const descriptor = openSync(path, 'r');
  try {
    const size = fstatSync(descriptor).size;
    // allocUnsafeSlow: a fresh ArrayBuffer of exactly `size` bytes, every one of them overwritten below.
    const bytes = Buffer.allocUnsafeSlow(size);
    let filled = 0;
    while (filled < size) {
      const count = readSync(descriptor, bytes, filled, size - filled, filled);
      if (count === 0) break; // the file shrank since fstat: keep what is there
      filled += count;
    }
    return filled === size ? bytes : bytes.subarray(0, filled);
  } finally {
    closeSync(descriptor);
  }
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
    if (character === '(') return this.parseSequence('(', ')');
    if (character === '[') return this.parseSequence('[', ']');
    if (character === '{') return this.parseDict();
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

function checkDescr(value: Literal | undefined, source: string): NpyHeader['descr'] {
  if (value?.kind === 'list') {
    throw npyError(source, `unsupported dtype: structured dtype ${describeLiteral(value)}; expected one of ${SUPPORTED_DESCRS}`);
  }
  if (value?.kind !== 'string') {
    throw npyError(source, `header 'descr': expected a dtype string, one of ${SUPPORTED_DESCRS}, found ${describeLiteral(value)}`);
  }
  const descr = value.value;
  if (descr in DESCR_TO_DTYPE) return descr as NpyHeader['descr'];
  if (/^>f[248]$/.test(descr)) {
    throw npyError(source, `big-endian data ('${descr}') is not supported: expected little-endian '<${descr.slice(1)}' (save with arr.astype('<${descr.slice(1)}'))`, {
      descr,
    });
  }
  const supportedDtypes = DTYPES.join(', ');
  throw npyError(source, `unsupported dtype '${descr}': expected one of ${SUPPORTED_DESCRS} (${supportedDtypes})`, { descr });
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

function copyToArrayBuffer(bytes: Uint8Array, start: number, end: number): ArrayBuffer {
  const copy = new Uint8Array(end - start);
  copy.set(bytes.subarray(start, end));
  return copy.buffer;
}

/** Bytes as a Python-like escaped string, e.g. "PK\x03\x04". */
function escapeBytes(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${text}"`;
}
