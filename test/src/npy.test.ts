import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DTYPE_INFO, allocateData } from '../../src/dtype.js';
import { isConformanceError } from '../../src/errors.js';
import { encodeNpyHeader, formatShape, readNpy, readNpyFile, readNpyHeader, writeNpy } from '../../src/npy.js';
import { Prng } from '../../src/prng.js';
import type { Dtype, Tensor } from '../../src/types.js';
import { PYTHON } from '../helpers/python.js';

const DTYPES: Dtype[] = ['float16', 'float32', 'float64'];

/** Bytes of a typed array's view, for exact comparisons. */
function viewBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A tensor whose elements are random bit patterns (NaNs with payloads, subnormals and infinities included by chance and on purpose). */
function randomTensor(dtype: Dtype, shape: number[], prng: Prng): Tensor {
  const elements = shape.reduce((product, size) => product * size, 1);
  const data = allocateData(dtype, elements);
  const bytes = viewBytes(data);
  for (let index = 0; index < bytes.length; index++) bytes[index] = prng.integer(0, 255);
  return { dtype, shape, data };
}

/** Bit patterns every dtype must carry unchanged: ±0, smallest/largest subnormal, smallest normal, max finite, ±Inf, quiet/signalling NaNs with payloads and either sign. */
function specialTensor(dtype: Dtype): Tensor {
  if (dtype === 'float16') {
    const bits = [0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe2a, 0x7d55];
    return { dtype, shape: [bits.length], data: Uint16Array.from(bits) };
  }
  if (dtype === 'float32') {
    const bits = [0x00000000, 0x80000000, 0x00000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc12345, 0x7fa5a5a5];
    const words = Uint32Array.from(bits);
    return { dtype, shape: [bits.length], data: new Float32Array(words.buffer) };
  }
  const bits = [
    0x0000000000000000n, 0x8000000000000000n, 0x0000000000000001n, 0x000fffffffffffffn, 0x0010000000000000n, 0x7fefffffffffffffn,
    0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0x7ff0000000000001n, 0xfff8123456789abcn, 0x7ff5a5a5a5a5a5a5n,
  ];
  const words = BigUint64Array.from(bits);
  return { dtype, shape: [bits.length], data: new Float64Array(words.buffer) };
}

/** Hand-made .npy bytes, for the malformed cases numpy would never write. */
function craftNpy(options: { header: string; dataBytes: number; version?: [number, number]; magic?: number[]; declaredLength?: number }): Uint8Array {
  const magic = options.magic ?? [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  const [major, minor] = options.version ?? [1, 0];
  const fieldBytes = major === 1 ? 2 : 4;
  const text = new TextEncoder().encode(options.header);
  const prefix = magic.length + 2 + fieldBytes;
  const bytes = new Uint8Array(prefix + text.length + options.dataBytes);
  bytes.set(magic, 0);
  bytes[magic.length] = major;
  bytes[magic.length + 1] = minor;
  const view = new DataView(bytes.buffer);
  const declared = options.declaredLength ?? text.length;
  if (fieldBytes === 2) view.setUint16(magic.length + 2, declared, true);
  else view.setUint32(magic.length + 2, declared, true);
  bytes.set(text, prefix);
  return bytes;
}

function dict(descr: string, shape: string, fortran = 'False'): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;
}

const SOURCE = 'fixtures/some-case/x.npy';

t.test('round trip is bit-exact for every dtype (NaN payloads, -0, subnormals, Inf)', async (t) => {
  const prng = new Prng(2024);
  for (const dtype of DTYPES) {
    for (const tensor of [specialTensor(dtype), randomTensor(dtype, [3, 4, 5], prng), randomTensor(dtype, [], prng), randomTensor(dtype, [0, 3], prng)]) {
      const bytes = writeNpy(tensor);
      const back = readNpy(bytes, SOURCE);
      t.equal(back.dtype, dtype);
      t.same(back.shape, tensor.shape);
      t.same(viewBytes(back.data), viewBytes(tensor.data), `${dtype} ${formatShape(tensor.shape)} bytes survive`);
      t.equal(back.data.constructor, tensor.data.constructor, `${dtype} comes back as ${tensor.data.constructor.name}`);
    }
  }
});

t.test('read data is an independent, aligned copy', async (t) => {
  for (const dtype of DTYPES) {
    const tensor = specialTensor(dtype);
    const bytes = writeNpy(tensor);
    const back = readNpy(bytes, SOURCE);
    t.equal(back.data.byteOffset, 0);
    t.equal(back.data.buffer.byteLength, back.data.byteLength, 'the buffer holds only the data');
    const before = viewBytes(back.data).slice();
    bytes.fill(0xff, bytes.length - DTYPE_INFO[dtype].bytes * 2);
    t.same(viewBytes(back.data), before, 'changing the file bytes afterwards does not change the tensor');
  }
  // A file inside a larger buffer at an odd offset (as a Node Buffer from a pool can be).
  const inner = writeNpy(specialTensor('float64'));
  const outer = new Uint8Array(inner.length + 3);
  outer.set(inner, 3);
  const back = readNpy(outer.subarray(3), SOURCE);
  t.same(viewBytes(back.data), viewBytes(specialTensor('float64').data));
});

t.test('float16 comes back as raw bits, not converted', async (t) => {
  const tensor: Tensor = { dtype: 'float16', shape: [2], data: Uint16Array.from([0x3c00, 0x7e01]) }; // 1.0 and a NaN with payload 1
  const back = readNpy(writeNpy(tensor), SOURCE);
  t.ok(back.data instanceof Uint16Array);
  t.same(Array.from(back.data), [0x3c00, 0x7e01]);
});

t.test('a data offset that is not a multiple of the element size is still read', async (t) => {
  // Format 2.0 has a 12-byte prefix; a 61-byte header puts the data at 73, not a multiple of 8.
  const header = dict('<f8', '(2,)');
  const padded = header.slice(0, -1).padEnd(60, ' ') + '\n';
  const bytes = craftNpy({ header: padded, dataBytes: 16, version: [2, 0] });
  t.equal((12 + padded.length) % 8, 1, 'the data offset is misaligned for float64');
  new DataView(bytes.buffer).setFloat64(12 + padded.length, 1.5, true);
  new DataView(bytes.buffer).setFloat64(12 + padded.length + 8, -0, true);
  const back = readNpy(bytes, SOURCE);
  t.same(Array.from(back.data), [1.5, -0]);
  t.ok(Object.is(back.data[1], -0));
});

t.test('header parsing accepts what numpy and other writers produce', async (t) => {
  const cases: [string, number[]][] = [
    ["{'descr':'<f4','fortran_order':False,'shape':(2,3)}", [2, 3]], // a compact writer (no spaces)
    ['{"shape": (4,), "fortran_order": False, "descr": "<f4"}', [4]], // any key order, double quotes
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (), }", []],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': ( 1 , 2 , ), }", [1, 2]],
  ];
  for (const [text, shape] of cases) {
    const elements = shape.reduce((product, size) => product * size, 1);
    const header = readNpyHeader(craftNpy({ header: `${text}\n`, dataBytes: elements * 4 }), SOURCE);
    t.same(header.shape, shape, text);
    t.equal(header.dtype, 'float32');
  }
  for (const version of [[2, 0], [3, 0]] as [number, number][]) {
    const back = readNpy(craftNpy({ header: dict('<f2', '(1,)'), dataBytes: 2, version }), SOURCE);
    t.same(back.shape, [1], `format ${version.join('.')}`);
  }
});

t.test('bad files are refused with a message naming the file, what was expected and what was found', async (t) => {
  const cases: { name: string; bytes: Uint8Array; message: RegExp }[] = [
    {
      name: 'wrong magic',
      bytes: craftNpy({ header: dict('<f4', '(1,)'), dataBytes: 4, magic: [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00] }),
      message: /not a \.npy file: expected the magic string \\x93NUMPY, found "PK\\x03\\x04\\x14\\x00"/,
    },
    { name: 'empty file', bytes: new Uint8Array(0), message: /truncated header: expected at least 8 bytes \(magic string and version\), found 0/ },
    { name: 'cut inside the magic', bytes: Uint8Array.from([0x93, 0x4e, 0x55]), message: /truncated header: expected at least 8 bytes .*found 3/ },
    { name: 'cut inside the length field', bytes: craftNpy({ header: '', dataBytes: 0 }).subarray(0, 9), message: /truncated header: format 1\.0 needs 10 bytes before the header text, found 9/ },
    {
      name: 'cut inside the header text',
      bytes: craftNpy({ header: dict('<f4', '(1,)'), dataBytes: 4 }).subarray(0, 30),
      // 30 bytes minus the 10-byte prefix leave 20 bytes of the header text.
      message: new RegExp(`truncated header: the header declares ${dict('<f4', '(1,)').length} bytes of text after byte 10, found only 20`),
    },
    { name: 'unknown version', bytes: craftNpy({ header: dict('<f4', '(1,)'), dataBytes: 4, version: [4, 0] }), message: /unsupported \.npy format version 4\.0: expected 1\.0, 2\.0 or 3\.0/ },
    {
      name: 'truncated data',
      bytes: craftNpy({ header: dict('<f4', '(2, 3)'), dataBytes: 20 }),
      // 2 * 3 elements * 4 bytes = 24.
      message: /truncated data: the header's shape \(2, 3\) of <f4 \(4 bytes each\) needs 24 data bytes, found 20/,
    },
    {
      name: 'header lies about the shape (more data than the shape)',
      bytes: craftNpy({ header: dict('<f4', '(2, 3)'), dataBytes: 28 }),
      message: /data length does not match the header: .*needs 24 data bytes, found 28 \(4 extra bytes\)/,
    },
    {
      name: 'fortran order',
      bytes: craftNpy({ header: dict('<f4', '(2, 3)', 'True'), dataBytes: 24 }),
      message: /fortran_order is True: expected False \(C order\)/,
    },
    {
      name: 'big-endian',
      bytes: craftNpy({ header: dict('>f4', '(2,)'), dataBytes: 8 }),
      message: /big-endian data \('>f4'\) is not supported: expected little-endian '<f4'/,
    },
    { name: 'int32', bytes: craftNpy({ header: dict('<i4', '(2,)'), dataBytes: 8 }), message: /unsupported dtype '<i4': expected one of '<f2', '<f4', '<f8'/ },
    { name: 'bool', bytes: craftNpy({ header: dict('|b1', '(2,)'), dataBytes: 2 }), message: /unsupported dtype '\|b1': expected one of '<f2', '<f4', '<f8'/ },
    { name: 'complex64', bytes: craftNpy({ header: dict('<c8', '(2,)'), dataBytes: 16 }), message: /unsupported dtype '<c8'/ },
    {
      name: 'structured dtype',
      bytes: craftNpy({ header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", dataBytes: 8 }),
      message: /unsupported dtype: structured dtype \[\('a', '<f4'\)\]; expected one of '<f2', '<f4', '<f8'/,
    },
    { name: 'negative dimension', bytes: craftNpy({ header: dict('<f4', '(-1, 3)'), dataBytes: 12 }), message: /absurd shape \(-1, 3\): dimension 0 is negative \(-1\)/ },
    { name: 'non-integer dimension', bytes: craftNpy({ header: dict('<f4', '(2.5,)'), dataBytes: 8 }), message: /absurd shape \(2\.5,\): dimension 0 is 2\.5, expected a non-negative integer/ },
    { name: 'boolean dimension', bytes: craftNpy({ header: dict('<f4', '(True,)'), dataBytes: 4 }), message: /absurd shape \(True,\): dimension 0 is True/ },
    {
      // 65536 * 65536 = 2^32 elements > 2^31: refused from the header alone, although the file holds 4 bytes of data.
      name: 'too many elements',
      bytes: craftNpy({ header: dict('<f4', '(65536, 65536)'), dataBytes: 4 }),
      message: /absurd shape \(65536, 65536\): 4294967296 elements, expected at most 2\^31 = 2147483648/,
    },
    {
      name: 'one enormous dimension',
      bytes: craftNpy({ header: dict('<f4', '(99999999999999999999999,)'), dataBytes: 4 }),
      message: /absurd shape \(99999999999999999999999,\): 99999999999999999999999 elements, expected at most 2\^31/,
    },
    {
      name: 'more dimensions than numpy allows',
      bytes: craftNpy({ header: dict('<f4', `(${Array(65).fill('1').join(', ')})`), dataBytes: 4 }),
      message: /absurd shape: expected at most 64 dimensions, found 65/,
    },
    { name: 'shape not a tuple', bytes: craftNpy({ header: dict('<f4', '3'), dataBytes: 12 }), message: /header 'shape': expected a tuple of integers like \(2, 3\) or \(5,\), found 3/ },
    { name: 'parenthesised number is not a tuple', bytes: craftNpy({ header: dict('<f4', '(3)'), dataBytes: 12 }), message: /header 'shape': expected a tuple .*found 3/ },
    {
      name: 'missing key',
      bytes: craftNpy({ header: "{'descr': '<f4', 'shape': (1,), }\n", dataBytes: 4 }),
      message: /header keys: expected exactly 'descr', 'fortran_order', 'shape', found 'descr', 'shape'/,
    },
    {
      name: 'extra key',
      bytes: craftNpy({ header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", dataBytes: 4 }),
      message: /header keys: expected exactly 'descr', 'fortran_order', 'shape', found 'descr', 'fortran_order', 'shape', 'x'/,
    },
    {
      name: 'duplicate key',
      bytes: craftNpy({ header: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", dataBytes: 4 }),
      message: /header key 'descr' appears twice/,
    },
    { name: 'not a dict', bytes: craftNpy({ header: "('<f4', False, (1,))\n", dataBytes: 4 }), message: /header is not a dict/ },
    { name: 'garbage header', bytes: craftNpy({ header: "{'descr': <f4>}\n", dataBytes: 4 }), message: /malformed header at character 10: expected a value/ },
    { name: 'text after the dict', bytes: craftNpy({ header: `${dict('<f4', '(1,)').trimEnd()} junk\n`, dataBytes: 4 }), message: /malformed header .*expected only padding after the header dict, found "junk/ },
    {
      name: 'fortran_order not a bool',
      bytes: craftNpy({ header: "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}\n", dataBytes: 4 }),
      message: /header 'fortran_order': expected False, found 0/,
    },
  ];
  for (const { name, bytes, message } of cases) {
    t.test(name, async (t) => {
      let caught: unknown;
      try {
        readNpy(bytes, SOURCE);
      } catch (error) {
        caught = error;
      }
      t.ok(isConformanceError(caught, 'E_NPY'), 'throws E_NPY');
      const text = (caught as Error).message;
      t.ok(text.startsWith(`${SOURCE}: `), `names the file: ${text}`);
      t.match(text, message);
    });
  }
});

t.test('readNpyFile names the path when the file is missing or bad', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'npy-test-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const missing = join(folder, 'missing.npy');
  await t.rejects(readNpyFile(missing), { code: 'E_MISSING_FILE', message: `${missing}: expected a .npy file, found no such file` });
  const bad = join(folder, 'bad.npy');
  await writeFile(bad, craftNpy({ header: dict('>f8', '(1,)'), dataBytes: 8 }));
  await t.rejects(readNpyFile(bad), { code: 'E_NPY', message: new RegExp(`^${escapeRegExp(bad)}: big-endian`) });
  const good = join(folder, 'good.npy');
  await writeFile(good, writeNpy(specialTensor('float32')));
  t.same(viewBytes((await readNpyFile(good)).data), viewBytes(specialTensor('float32').data));
});

t.test('writeNpy refuses inconsistent tensors', async (t) => {
  t.throws(() => writeNpy({ dtype: 'float32', shape: [3], data: new Float64Array(3) }, 'dx'), { code: 'E_NPY', message: /^dx: float32 data: expected a Float32Array, found Float64Array/ });
  t.throws(() => writeNpy({ dtype: 'float16', shape: [2, 2], data: new Uint16Array(3) }, 'x'), {
    code: 'E_NPY',
    message: /^x: data length does not match the shape: expected \(2, 2\) = 4 elements, found 3/,
  });
  t.throws(() => writeNpy({ dtype: 'float64', shape: [-1], data: new Float64Array(0) }), { code: 'E_NPY', message: /shape\[0\]: expected a non-negative integer, found -1/ });
  t.throws(() => writeNpy({ dtype: 'float64', shape: [1.5], data: new Float64Array(1) }), { code: 'E_NPY', message: /shape\[0\]: expected a non-negative integer, found 1.5/ });
});

t.test('header layout: format 1.0, total header a multiple of 64, ending in a newline', async (t) => {
  t.equal(formatShape([]), '()');
  t.equal(formatShape([5]), '(5,)');
  t.equal(formatShape([2, 3]), '(2, 3)');
  for (const shape of [[], [5], [2, 3, 4, 5], [0, 1, 1, 100, 100, 100, 100, 100, 100, 100]]) {
    const header = encodeNpyHeader('<f4', shape);
    t.equal(header.length % 64, 0, `${formatShape(shape)}: ${header.length} bytes`);
    t.equal(header[header.length - 1], 0x0a);
    t.same([header[6], header[7]], [1, 0]);
  }
  // For this shape the dict plus numpy's growth padding is 117 characters, so
  // 10 + 117 + 1 = 128 is already aligned: numpy still pads a full 64 bytes (192).
  t.equal(encodeNpyHeader('<f4', [0, 1, 1, 100, 100, 100, 100, 100, 100, 100]).length, 192);
});

const numpyProbe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
const hasNumpy = numpyProbe.status === 0;
/** Without numpy these tests are skipped, except in CI (which installs numpy), where they fail. */
const numpyOptions = { skip: !hasNumpy && !process.env.CI ? 'python3 with numpy is not available (`python3 -c "import numpy"` failed)' : false };
function requireNumpy(t: Test): boolean {
  if (!hasNumpy) t.fail(`python3 with numpy is required when process.env.CI is set, but \`python3 -c "import numpy"\` failed: ${numpyProbe.stderr || String(numpyProbe.error)}`);
  return hasNumpy;
}

t.test('our files equal np.save byte for byte, and numpy reads them back unchanged', numpyOptions, async (t) => {
  if (!requireNumpy(t)) return;
  const folder = await mkdtemp(join(tmpdir(), 'npy-numpy-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const prng = new Prng(7);
  // (0, 1, 1, 100, ...) is the shape whose header numpy pads by a full 64 bytes (see above).
  const shapes = [[], [5], [2, 3, 4, 5], [0], [1], [3, 0, 2], [7, 11], [0, 1, 1, 100, 100, 100, 100, 100, 100, 100], [1234567, 0]];
  const written: { file: string; tensor: Tensor }[] = [];
  for (const dtype of DTYPES) {
    for (const [index, shape] of shapes.entries()) {
      const file = join(folder, `ours-${dtype}-${index}.npy`);
      const tensor = randomTensor(dtype, shape, prng);
      await writeFile(file, writeNpy(tensor));
      written.push({ file, tensor });
    }
    const special = specialTensor(dtype);
    const file = join(folder, `ours-${dtype}-special.npy`);
    await writeFile(file, writeNpy(special));
    written.push({ file, tensor: special });
  }
  // numpy loads each of our files, checks what it sees, and saves its own copy next to it.
  const script = [
    'import sys, json, numpy as np',
    'expectations = json.load(sys.stdin)',
    'for item in expectations:',
    '    a = np.load(item["file"])',
    '    assert a.dtype.str == item["descr"], (item["file"], a.dtype.str)',
    '    assert list(a.shape) == item["shape"], (item["file"], a.shape)',
    '    assert a.flags["C_CONTIGUOUS"]',
    '    np.save(item["file"].replace("ours-", "numpy-"), a)',
    'print("ok", len(expectations))',
  ].join('\n');
  const input = JSON.stringify(written.map(({ file, tensor }) => ({ file, descr: DTYPE_INFO[tensor.dtype].npyDescr, shape: tensor.shape })));
  const result = spawnSync(PYTHON, ['-c', script], { input, encoding: 'utf8' });
  t.equal(result.status, 0, `numpy loaded and re-saved every file: ${result.stderr}`);
  t.equal(result.stdout.trim(), `ok ${written.length}`);
  for (const { file, tensor } of written) {
    const ours = await readFile(file);
    const theirs = await readFile(file.replace('ours-', 'numpy-'));
    t.ok(Buffer.compare(ours, theirs) === 0, `${tensor.dtype} ${formatShape(tensor.shape)}: identical to np.save (${ours.length} and ${theirs.length} bytes)`);
    const back = readNpy(theirs, file);
    t.same(viewBytes(back.data), viewBytes(tensor.data), `${tensor.dtype} ${formatShape(tensor.shape)}: we read numpy's file bit for bit`);
  }
});

t.test('files numpy writes in other ways: versions 2.0/3.0 accepted; Fortran order and big-endian refused', numpyOptions, async (t) => {
  if (!requireNumpy(t)) return;
  const folder = await mkdtemp(join(tmpdir(), 'npy-numpy-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const script = [
    'import sys, numpy as np',
    'from numpy.lib import format as fmt',
    'folder = sys.argv[1]',
    'a = np.arange(6, dtype="<f4").reshape(2, 3)',
    'for version in [(2, 0), (3, 0)]:',
    '    with open(f"{folder}/v{version[0]}.npy", "wb") as f:',
    '        fmt.write_array(f, a, version=version)',
    'np.save(f"{folder}/fortran.npy", np.asfortranarray(a))',
    'np.save(f"{folder}/big.npy", a.astype(">f4"))',
    'np.save(f"{folder}/int.npy", a.astype("<i4"))',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', script, folder], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
  for (const version of ['v2', 'v3']) {
    const tensor = await readNpyFile(join(folder, `${version}.npy`));
    t.same(tensor.shape, [2, 3]);
    t.same(Array.from(tensor.data), [0, 1, 2, 3, 4, 5], version);
  }
  await t.rejects(readNpyFile(join(folder, 'fortran.npy')), { code: 'E_NPY', message: /fortran\.npy: fortran_order is True/ });
  await t.rejects(readNpyFile(join(folder, 'big.npy')), { code: 'E_NPY', message: /big\.npy: big-endian data \('>f4'\)/ });
  await t.rejects(readNpyFile(join(folder, 'int.npy')), { code: 'E_NPY', message: /int\.npy: unsupported dtype '<i4'/ });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
