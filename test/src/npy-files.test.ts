/**
 * .npy files on disk (readNpyFile / readNpyFileSync): opened as what they claim to be
 * (a symbolic link, a FIFO or a folder is refused, a FIFO without blocking), refused
 * by size before their data is read, a deeply nested header refused cleanly, and
 * in converting mode (adapter outputs) Fortran order and big-endian data converted
 * to C order, little-endian, checked against numpy's own conversion.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { isConformanceError } from '../../src/errors.js';
import { encodeNpyHeader, readNpyFile, readNpyFileSync, readNpyHeader } from '../../src/npy.js';
import { MAX_READ_BYTES } from '../../src/regular-file.js';
import { PYTHON, pythonSkipReason } from '../helpers/python.js';

const dir = t.testdir();

function errorOf(run: () => unknown): Error & { code?: string } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected an error');
}

t.test('a symbolic link, a FIFO and a folder are refused by name, the FIFO without waiting for a writer', async (t) => {
  const target = join(dir, 'target.npy');
  writeFileSync(target, encodeNpyHeader('<f8', [0]));
  const link = join(dir, 'link.npy');
  symlinkSync(target, link);
  const fifo = join(dir, 'fifo.npy');
  execFileSync('mkfifo', [fifo]);
  const folder = join(dir, 'folder.npy');
  mkdirSync(folder);
  t.same(readNpyFileSync(target).shape, [0], 'the target itself reads');
  for (const [path, kind] of [
    [link, 'a symbolic link'],
    [fifo, 'a FIFO'],
    [folder, 'a folder'],
  ]) {
    const error = errorOf(() => readNpyFileSync(path));
    t.ok(isConformanceError(error, 'E_FILE_KIND'), `${kind}: E_FILE_KIND`);
    t.equal(error.message, `${path}: expected a .npy file, found ${kind}`);
  }
  await t.rejects(readNpyFile(fifo, { convert: true }), { code: 'E_FILE_KIND', message: `${fifo}: expected a .npy file, found a FIFO` });
});

t.test('a 3 GiB file is refused by its size, unread, with a clear error', async (t) => {
  const threeGiB = 3 * 2 ** 30;
  const before = process.memoryUsage().rss;
  // A sparse file: a real header for 10 float64 elements, then holes up to 3 GiB.
  const small = join(dir, 'three-gib-small-header.npy');
  writeSparse(small, encodeNpyHeader('<f8', [10]), threeGiB);
  const header = encodeNpyHeader('<f8', [10]).length;
  const smallError = errorOf(() => readNpyFileSync(small));
  t.equal(smallError.code, 'E_NPY');
  t.equal(
    smallError.message,
    `${small}: data length does not match the header: the header's shape (10,) of <f8 (8 bytes each) needs 80 data bytes, found ${threeGiB - header} (${threeGiB - header - 80} extra bytes)`,
  );
  // A header that does call for 3 GiB (3 * 2^27 float64 elements): more than one read may hold.
  const big = join(dir, 'three-gib-big-header.npy');
  const bigShape = [3 * 2 ** 27];
  const bigHeader = encodeNpyHeader('<f8', bigShape);
  writeSparse(big, bigHeader, bigHeader.length + threeGiB);
  const bigError = errorOf(() => readNpyFileSync(big));
  t.equal(bigError.code, 'E_FILE_SIZE');
  t.equal(bigError.message, `${big}: expected at most ${MAX_READ_BYTES} bytes (the largest .npy file this reader holds in memory), found ${bigHeader.length + threeGiB}`);
  // An adapter output expected as 10 float64 elements: the header's 3 GiB is refused before the data.
  const expectedError = errorOf(() => readNpyFileSync(big, { convert: true, expected: { dtype: 'float64', shape: [10], what: 'the expected dx' } }));
  t.equal(expectedError.code, 'E_NPY');
  t.equal(expectedError.message, `${big}: the header's shape (${bigShape[0]},) of <f8 needs ${threeGiB} data bytes, more than the 80 of the expected dx (float64, shape [10])`);
  // Reading either file would take 3 GiB; refusing them takes the header's few bytes (100 MB of slack for the test runner itself).
  t.ok(process.memoryUsage().rss - before < 100 * 2 ** 20, 'refused without reading the data');
});

t.test('a deeply nested shape is E_NPY, not a stack overflow', async (t) => {
  // Format 2.0 (uint32 header length) with 9000 nested '(' (numpy's header limit is 10000 bytes).
  const text = `{'descr': '<f8', 'fortran_order': False, 'shape': ${'('.repeat(9000)}`;
  const headerText = `${text}${' '.repeat(64 - ((12 + text.length + 1) % 64))}\n`;
  const bytes = Buffer.alloc(12 + headerText.length);
  bytes.write('\x93NUMPY', 0, 'latin1');
  bytes[6] = 2;
  bytes[7] = 0;
  bytes.writeUInt32LE(headerText.length, 8);
  bytes.write(headerText, 12, 'latin1');
  const path = join(dir, 'nested.npy');
  writeFileSync(path, bytes);
  const error = errorOf(() => readNpyFileSync(path));
  t.equal(error.code, 'E_NPY');
  t.match(error.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: malformed header at character \\d+: expected literals nested at most 16 deep`));
});

const numpySkip = pythonSkipReason(['numpy']);

t.test('converting mode: Fortran order and big-endian files written by numpy come back in C order, little-endian', { skip: numpySkip }, async (t) => {
  const folder = join(dir, 'numpy');
  mkdirSync(folder);
  // For each case: the file as an adapter would save it, and numpy's own C-order little-endian copy of it.
  const script = [
    'import sys, numpy as np',
    'folder = sys.argv[1]',
    'rng = np.random.default_rng(7)',
    'cases = {}',
    'for dtype in ["f2", "f4", "f8"]:',
    '    a = rng.standard_normal((3, 4, 5, 2)).astype("<" + dtype)',
    '    cases[f"transposed-{dtype}"] = a.T                      # np.save writes fortran_order True',
    '    cases[f"fortran-2d-{dtype}"] = np.asfortranarray(a[0, 0])',
    '    cases[f"big-{dtype}"] = a.astype(">" + dtype)',
    '    cases[f"big-transposed-{dtype}"] = a.astype(">" + dtype).transpose(3, 2, 1, 0)',
    'for name, array in cases.items():',
    '    np.save(f"{folder}/{name}.npy", array)',
    '    np.save(f"{folder}/{name}-c.npy", np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")))',
    'print(" ".join(cases))',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', script, folder], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
  const names = result.stdout.trim().split(' ');
  t.equal(names.length, 12);
  for (const name of names) {
    const path = join(folder, `${name}.npy`);
    const header = readNpyHeader(readPrefix(path), path, { convert: true });
    t.equal(header.fortranOrder, name.includes('transposed') || name.includes('fortran'), `${name}: fortran_order as numpy wrote it`);
    t.equal(header.littleEndian, !name.startsWith('big'), `${name}: byte order as numpy wrote it`);
    const converted = readNpyFileSync(path, { convert: true });
    const reference = readNpyFileSync(join(folder, `${name}-c.npy`));
    t.equal(converted.dtype, reference.dtype, `${name}: dtype`);
    t.same(converted.shape, reference.shape, `${name}: shape`);
    t.same(Buffer.from(converted.data.buffer, converted.data.byteOffset, converted.data.byteLength), Buffer.from(reference.data.buffer, reference.data.byteOffset, reference.data.byteLength), `${name}: numpy's C-order bytes`);
    // Strict mode (the corpus) still refuses them.
    t.equal(errorOf(() => readNpyFileSync(path)).code, 'E_NPY', `${name}: refused in strict mode`);
  }
});

/** The first bytes of a file (enough for any .npy header: numpy's limit is 10000 bytes after 12). */
function readPrefix(path: string): Uint8Array {
  const descriptor = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(12 + 10000);
    return bytes.subarray(0, readSync(descriptor, bytes, 0, bytes.length, 0));
  } finally {
    closeSync(descriptor);
  }
}

/** A file of `size` bytes that starts with `head`, the rest a hole (no disk space used). */
function writeSparse(path: string, head: Uint8Array, size: number): void {
  const descriptor = openSync(path, 'w');
  try {
    writeSync(descriptor, head);
    ftruncateSync(descriptor, size);
  } finally {
    closeSync(descriptor);
  }
}
