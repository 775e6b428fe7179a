/**
 * The fast ways of reading .npy files that the runner uses: the header fast path
 * for np.save's own layout (it must read exactly what the general parser reads,
 * and refuse exactly what it refuses), readNpy's copy: false, and
 * readNpyFileSync (the data read into a buffer of its own, which the tensor views).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { allocateData } from '../../src/dtype.js';
import { isConformanceError } from '../../src/errors.js';
import { formatShape, readNpy, readNpyFileSync, readNpyHeader, writeNpy } from '../../src/npy.js';
import type { Dtype, Tensor } from '../../src/types.js';

const SOURCE = 'test.npy';

/** A format 1.0 file with this header text (padded so the data starts at a multiple of 64) and zero data bytes. */
function npyWithHeader(text: string, dataBytes: number): Uint8Array {
  const prefix = 10; // magic (6), version (2), header length (2)
  let header = text;
  // Spaces before the final '\n', as numpy pads: the data then starts at a multiple of 64.
  while ((prefix + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const bytes = new Uint8Array(prefix + header.length + dataBytes);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  for (let index = 0; index < header.length; index++) bytes[prefix + index] = header.charCodeAt(index);
  return bytes;
}

function tensorOf(dtype: Dtype, shape: number[]): Tensor {
  const elements = shape.reduce((product, size) => product * size, 1);
  const data = allocateData(dtype, elements);
  // Distinct values, so that a wrong offset or length would show.
  // float16 is stored as bits: 0x3c00 is 1.0, and each step up is the next float16.
  for (let index = 0; index < elements; index++) data[index] = dtype === 'float16' ? 0x3c00 + index : index + 0.5;
  return { dtype, shape, data };
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw, found none');
}

t.test("np.save's layout (fast path) reads as the same header in another layout (general parser)", async (t) => {
  const shapes = [[], [0], [5], [2, 3], [2, 3, 4, 5], [1, 0, 3]];
  const descrs: Record<Dtype, string> = { float16: '<f2', float32: '<f4', float64: '<f8', bfloat16: '<u2' };
  for (const dtype of ['float16', 'float32', 'float64'] as const) {
    for (const shape of shapes) {
      const canonical = writeNpy(tensorOf(dtype, shape));
      // Keys in another order: np.save never writes this, so only the general parser reads it.
      const elements = shape.reduce((product, size) => product * size, 1);
      const bytesPerElement = dtype === 'float16' ? 2 : dtype === 'float32' ? 4 : 8;
      const reordered = npyWithHeader(`{'shape': ${formatShape(shape)}, 'fortran_order': False, 'descr': '${descrs[dtype]}', }`, elements * bytesPerElement);
      const fast = readNpyHeader(canonical, SOURCE);
      const general = readNpyHeader(reordered, SOURCE);
      t.same(
        { descr: fast.descr, dtype: fast.dtype, shape: fast.shape, dataBytes: fast.dataBytes, fortranOrder: fast.fortranOrder },
        { descr: general.descr, dtype: general.dtype, shape: general.shape, dataBytes: general.dataBytes, fortranOrder: general.fortranOrder },
        `${dtype} ${formatShape(shape)}`,
      );
      t.same(fast.shape, shape);
    }
  }
});

t.test("headers in np.save's layout that are not valid are refused as before", async (t) => {
  const layout = (descr: string, fortran: string, shape: string): string => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const cases: { name: string; text: string; dataBytes: number; message: RegExp }[] = [
    // (5) is the number 5 in Python, not a tuple.
    { name: 'shape (5) is not a tuple', text: layout('<f4', 'False', '(5)'), dataBytes: 20, message: /header 'shape': expected a tuple of integers like \(2, 3\) or \(5,\), found 5/ },
    { name: 'Fortran order', text: layout('<f4', 'True', '(2, 3)'), dataBytes: 24, message: /fortran_order is True: expected False \(C order\)/ },
    { name: 'a leading zero', text: layout('<f4', 'False', '(05,)'), dataBytes: 20, message: /absurd shape \(05,\): dimension 0 is 05, expected a non-negative integer/ },
    { name: 'big-endian', text: layout('>f4', 'False', '(2,)'), dataBytes: 8, message: /big-endian data \('>f4'\) is not supported/ },
    { name: 'an integer dtype', text: layout('<i4', 'False', '(2,)'), dataBytes: 8, message: /unsupported dtype '<i4'/ },
  ];
  for (const { name, text, dataBytes, message } of cases) {
    const error = errorOf(() => readNpy(npyWithHeader(text, dataBytes), SOURCE));
    t.ok(isConformanceError(error, 'E_NPY'), `${name}: E_NPY`);
    t.match(error.message, message, name);
    t.match(error.message, /^test\.npy: /, `${name}: the message names the file`);
  }
});

t.test('readNpy copy: false gives a view into a whole buffer, and never shares a buffer it was not given whole', async (t) => {
  const tensor = tensorOf('float32', [2, 3]);
  const bytes = writeNpy(tensor);
  t.equal(bytes.byteOffset, 0);
  t.equal(bytes.buffer.byteLength, bytes.byteLength, 'writeNpy returns a buffer of its own');

  const view = readNpy(bytes, SOURCE, { copy: false });
  t.equal(view.data.buffer, bytes.buffer, 'copy: false reads in place');
  t.same(Array.from(view.data), Array.from(tensor.data));

  const copied = readNpy(bytes, SOURCE);
  t.not(copied.data.buffer, bytes.buffer, 'by default the data has a buffer of its own');
  t.equal(copied.data.byteOffset, 0);
  t.equal(copied.data.buffer.byteLength, copied.data.byteLength);

  // A slice of a larger buffer: the data must not alias it even with copy: false.
  const outer = new Uint8Array(bytes.length + 64);
  outer.set(bytes, 64);
  const inner = outer.subarray(64);
  const fromSlice = readNpy(inner, SOURCE, { copy: false });
  t.not(fromSlice.data.buffer, outer.buffer, 'a view of part of a buffer is copied first');
  outer.fill(0xff);
  t.same(Array.from(fromSlice.data), Array.from(tensor.data), 'changing the given bytes afterwards changes nothing');
});

t.test('readNpyFileSync: the data in a buffer of its own, small files included', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'npy-fast-read-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // 10 float32 elements (40 bytes) are below Node's pool threshold (4 KiB), where readFileSync hands out slices of a shared buffer.
  for (const elements of [0, 10, 10000]) {
    const path = join(dir, `file-${elements}.npy`);
    const tensor: Tensor = { dtype: 'float32', shape: [elements], data: Float32Array.from({ length: elements }, (_, index) => index * 0.5) };
    await writeFile(path, writeNpy(tensor));
    const read = readNpyFileSync(path);
    t.same(Array.from(read.data), Array.from(tensor.data), `${elements} elements: same values`);
    t.equal(read.data.byteOffset, 0, `${elements} elements: at offset 0`);
    t.equal(read.data.buffer.byteLength, elements * 4, `${elements} elements: the buffer holds this data only`);
  }
  const missing = errorOf(() => readNpyFileSync(join(dir, 'missing.npy')));
  t.ok(isConformanceError(missing, 'E_MISSING_FILE'), 'a missing file is E_MISSING_FILE');
  t.equal((missing as Error).message, `${join(dir, 'missing.npy')}: expected a .npy file, found no such file`);
});
