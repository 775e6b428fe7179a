import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  FIXTURE_META_FILE,
  FIXTURE_TENSOR_NAMES,
  loadFixture,
  loadFixtureMeta,
  serializeFixtureMeta,
  tensorFileName,
  writeFixtureFolder,
} from '../../src/fixture-io.js';
import { sha256Hex } from '../../src/hash.js';
import { writeNpy } from '../../src/npy.js';
import type { Dtype, FixtureMeta, Tensor } from '../../src/types.js';
import { sampleFixture } from '../helpers/sample-fixture.js';

function viewBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

async function temporaryFolder(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'fixture-io-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** Write the sample fixture into a fresh folder named after its id. */
async function writtenSample(t: { teardown(fn: () => unknown): void }, dtype: Dtype = 'float32'): Promise<{ dir: string; meta: FixtureMeta }> {
  const sample = sampleFixture({ dtype });
  const dir = join(await temporaryFolder(t), sample.meta.id);
  const { meta } = await writeFixtureFolder(dir, sample.meta, sample.tensors);
  return { dir, meta };
}

async function editJson(path: string, edit: (value: Record<string, any>) => void): Promise<void> {
  const value = JSON.parse(await readFile(path, 'utf8'));
  edit(value);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

t.test('write then load gives back the metadata and every tensor bit for bit', async (t) => {
  for (const dtype of ['float16', 'float32', 'float64'] as Dtype[]) {
    const sample = sampleFixture({ dtype });
    const dir = join(await temporaryFolder(t), sample.meta.id);
    const written = await writeFixtureFolder(dir, sample.meta, sample.tensors);
    const { meta } = written;
    t.equal(written.metaSha256, sha256Hex(await readFile(join(dir, FIXTURE_META_FILE))), `${dtype}: the sha256 of the fixture.json written`);
    t.same((await readdir(dir)).sort(), [FIXTURE_META_FILE, ...FIXTURE_TENSOR_NAMES.map(tensorFileName)].sort(), `${dtype}: exactly the ten files`);
    let onDisk = 0;
    for (const file of await readdir(dir)) onDisk += (await stat(join(dir, file))).size;
    t.equal(written.bytes, onDisk, `${dtype}: the bytes written, as on disk`);
    for (const name of FIXTURE_TENSOR_NAMES) {
      const file = meta.files[name];
      t.equal(file.path, `${name}.npy`);
      t.equal(file.dtype, ['x', 'w', 'dy'].includes(name) ? dtype : 'float64');
      t.equal(file.sha256, sha256Hex(await readFile(join(dir, file.path))), `${dtype} ${name}: sha256 of the bytes on disk`);
    }
    const loaded = await loadFixture(dir);
    t.same(loaded.meta, meta);
    t.equal(loaded.dir, dir);
    const pairs: [string, Tensor, Tensor][] = [
      ['x', loaded.x, sample.tensors.x],
      ['w', loaded.w, sample.tensors.w],
      ['dy', loaded.dy, sample.tensors.dy],
      ['dx', loaded.dx, sample.tensors.dx],
      ['dw', loaded.dw, sample.tensors.dw],
      ['db', loaded.db, sample.tensors.db],
      ['dx-magnitude', loaded['dx-magnitude'], sample.tensors['dx-magnitude']],
      ['dw-magnitude', loaded['dw-magnitude'], sample.tensors['dw-magnitude']],
      ['db-magnitude', loaded['db-magnitude'], sample.tensors['db-magnitude']],
    ];
    for (const [name, got, expected] of pairs) {
      t.equal(got.dtype, expected.dtype, `${dtype} ${name} dtype`);
      t.same(got.shape, expected.shape, `${dtype} ${name} shape`);
      t.same(viewBytes(got.data), viewBytes(expected.data), `${dtype} ${name} bytes`);
    }
  }
});

t.test('writing is deterministic: same input, same bytes, whatever the key order of the input', async (t) => {
  const sample = sampleFixture();
  const first = join(await temporaryFolder(t), sample.meta.id);
  const second = join(await temporaryFolder(t), sample.meta.id);
  await writeFixtureFolder(first, sample.meta, sample.tensors);
  // The same metadata with every key order reversed.
  const reversed = reverseKeys(sample.meta) as typeof sample.meta;
  t.notSame(Object.keys(reversed), Object.keys(sample.meta));
  await writeFixtureFolder(second, reversed, sampleFixture().tensors);
  for (const file of await readdir(first)) {
    t.ok((await readFile(join(first, file))).equals(await readFile(join(second, file))), `${file} identical`);
  }
  const text = await readFile(join(first, FIXTURE_META_FILE), 'utf8');
  t.ok(text.startsWith('{\n  "id": '), 'fixture.json starts with the id, 2-space indented');
  t.ok(text.endsWith('}\n'), 'and ends with a newline');
  t.equal(text, serializeFixtureMeta(JSON.parse(text)), 'serializeFixtureMeta reproduces it');
  t.same(Object.keys(JSON.parse(text)), ['id', 'formatVersion', 'op', 'description', 'case', 'dtype', 'family', 'seed', 'tags', 'params', 'padding', 'shapes', 'files', 'tolerance', 'witnesses']);
});

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([key, entry]) => [key, reverseKeys(entry)]));
}

t.test('a changed file is refused by checksum, naming it, unless checksums are off', async (t) => {
  const { dir, meta } = await writtenSample(t);
  const path = join(dir, 'dx.npy');
  const bytes = await readFile(path);
  bytes[bytes.length - 1] ^= 0x01; // flip the lowest bit of the last element's last byte
  await writeFile(path, bytes);
  await t.rejects(loadFixture(dir), {
    code: 'E_CHECKSUM',
    message: `${path}: sha256 does not match fixture.json: expected ${meta.files.dx.sha256}, found ${sha256Hex(bytes)}`,
  });
  const loaded = await loadFixture(dir, { verifyChecksums: false });
  t.equal(loaded.dx.data.length, meta.shapes.dx.reduce((product, size) => product * size, 1));
});

t.test('a file whose dtype or shape disagrees with fixture.json is refused, naming the file and both values', async (t) => {
  const { dir } = await writtenSample(t);
  // x in float64 in a float32 fixture: twice the bytes, refused by its size before it is read
  // (np.save's header of (2, 4, 5, 6) is 128 bytes; 240 elements of 4 bytes are due, 8 found).
  await writeFile(join(dir, 'x.npy'), writeNpy({ dtype: 'float64', shape: [2, 4, 5, 6], data: new Float64Array(240) }));
  await t.rejects(loadFixture(dir, { verifyChecksums: false }), {
    code: 'E_FILE_SIZE',
    message: `${join(dir, 'x.npy')}: expected ${128 + 240 * 4} bytes (np.save's header and data for float32 shape (2, 4, 5, 6), from fixture.json), found ${128 + 240 * 8}`,
  });
  // The same size in float64 (half the elements): read, and refused by its dtype.
  await writeFile(join(dir, 'x.npy'), writeNpy({ dtype: 'float64', shape: [2, 4, 5, 3], data: new Float64Array(120) }));
  await t.rejects(loadFixture(dir, { verifyChecksums: false }), {
    code: 'E_FIXTURE',
    message: `${join(dir, 'x.npy')}: dtype does not match fixture.json files.x.dtype: expected float32, found float64`,
  });
  // A magnitude file with the wrong shape: it must have the shape of its output, dw [6, 2, 3, 2].
  const second = await writtenSample(t);
  await writeFile(join(second.dir, 'dw-magnitude.npy'), writeNpy({ dtype: 'float64', shape: [6, 2, 2, 3], data: new Float64Array(72) }));
  await t.rejects(loadFixture(second.dir, { verifyChecksums: false }), {
    code: 'E_FIXTURE',
    message: `${join(second.dir, 'dw-magnitude.npy')}: shape does not match fixture.json shapes.dw: expected (6, 2, 3, 2), found (6, 2, 2, 3)`,
  });
  // A broken .npy is reported by the npy reader, with its path.
  const third = await writtenSample(t);
  const db = await readFile(join(third.dir, 'db.npy'));
  db.write('not an npy file', 0, 'latin1'); // the right size, the wrong content
  await writeFile(join(third.dir, 'db.npy'), db);
  await t.rejects(loadFixture(third.dir, { verifyChecksums: false }), { code: 'E_NPY', message: new RegExp(`^${escapeRegExp(join(third.dir, 'db.npy'))}: not a \\.npy file`) });
});

t.test('missing files are named', async (t) => {
  const { dir } = await writtenSample(t);
  await rm(join(dir, 'w.npy'));
  await t.rejects(loadFixture(dir), { code: 'E_MISSING_FILE', message: `${join(dir, 'w.npy')}: expected a fixture file, found no such file` });
  await rm(join(dir, FIXTURE_META_FILE));
  await t.rejects(loadFixtureMeta(dir), { code: 'E_MISSING_FILE', message: `${join(dir, FIXTURE_META_FILE)}: expected a fixture file, found no such file` });
});

t.test('fixture.json is refused when it breaks the schema (each problem with its JSON path) or is not JSON', async (t) => {
  const { dir } = await writtenSample(t);
  const source = join(dir, FIXTURE_META_FILE);
  await editJson(source, (meta) => {
    meta.shapes.x[1] = -4;
    meta.files.dw.sha256 = 'ABC';
    meta.family = 'gaussian';
    meta.surprise = true;
  });
  const error = await loadFixtureMeta(dir).then(
    () => undefined,
    (caught: unknown) => caught as Error & { code: string },
  );
  t.equal(error?.code, 'E_SCHEMA');
  const message = error?.message ?? '';
  t.ok(message.startsWith(`${source}: fixture.json does not match its schema (4 problems):`), message);
  t.match(message, '/: unexpected property "surprise"');
  t.match(message, '/family: expected one of "exact", "normal", "wide", "cancel", "onehot-dy", "zeros", "special", found "gaussian"');
  t.match(message, '/shapes/x/1: must be >= 0, found -4');
  t.match(message, '/files/dw/sha256: expected a sha256: 64 lowercase hex digits, found "ABC"');

  await writeFile(source, '{"id": ');
  await t.rejects(loadFixtureMeta(dir), { code: 'E_FIXTURE', message: new RegExp(`^${escapeRegExp(source)}: expected JSON, found text that does not parse`) });
});

t.test('fixture.json that contradicts itself, the geometry or its folder is refused', async (t) => {
  const cases: { name: string; edit: (meta: Record<string, any>) => void; message: string }[] = [
    { name: 'input file dtype', edit: (meta) => (meta.files.w.dtype = 'float64'), message: "files.w.dtype: expected float32 (the fixture's dtype), found float64" },
    {
      // OH = floor((5 + 1 + 0 - 3) / 2) + 1 = 2; OW = floor((6 + 2 + 1 - (2*(2-1)+1)) / 1) + 1 = 7.
      name: 'dy shape',
      edit: (meta) => (meta.shapes.dy = [2, 6, 7, 2]),
      message: 'shapes and params are inconsistent: dy shape: expected [2, 6, 2, 7] (N, Cout, OH, OW), found [2,6,7,2]',
    },
    { name: 'dx shape', edit: (meta) => (meta.shapes.dx = [2, 4, 6, 5]), message: 'shapes.dx: expected [2, 4, 5, 6] (from x, w and params), found [2, 4, 6, 5]' },
    // dx sums Cout/groups * KH * KW = 3 * 3 * 2 = 18 products.
    { name: 'accumulation length', edit: (meta) => (meta.tolerance.outputs.dx.accumulationLength = 17), message: 'tolerance.outputs.dx.accumulationLength: expected 18 (from the geometry), found 17' },
    { name: 'unit roundoff', edit: (meta) => (meta.tolerance.unitRoundoff = 2 ** -11), message: `tolerance.unitRoundoff: expected ${2 ** -24} (unit roundoff of float32), found ${2 ** -11}` },
    {
      name: 'pads against the padding mode',
      edit: (meta) => (meta.padding.mode = 'VALID'),
      message: 'params.pads: padding mode VALID resolves to {"top":0,"bottom":0,"left":0,"right":0}, found {"top":1,"bottom":0,"left":2,"right":1}',
    },
  ];
  for (const { name, edit, message } of cases) {
    const { dir } = await writtenSample(t);
    const source = join(dir, FIXTURE_META_FILE);
    await editJson(source, edit);
    await t.rejects(loadFixtureMeta(dir), { code: 'E_FIXTURE', message: `${source}: ${message}` }, name);
  }
  // The id must be the folder name.
  const { dir } = await writtenSample(t);
  const renamed = join(dir, '..', 'another-name');
  await mkdir(renamed);
  for (const file of await readdir(dir)) await writeFile(join(renamed, file), await readFile(join(dir, file)));
  await t.rejects(loadFixtureMeta(renamed), {
    code: 'E_FIXTURE',
    message: `${join(renamed, FIXTURE_META_FILE)}: id: expected the folder name "another-name", found "sample-stride-2x1-normal-f32"`,
  });
});

t.test('SAME_UPPER fixtures whose pads match the rule are accepted', async (t) => {
  const sample = sampleFixture({ paddingMode: 'SAME_UPPER' });
  const dir = join(await temporaryFolder(t), sample.meta.id);
  await writeFixtureFolder(dir, sample.meta, sample.tensors);
  t.equal((await loadFixture(dir)).meta.padding.mode, 'SAME_UPPER');
});

t.test('writeFixtureFolder refuses bad input before writing anything', async (t) => {
  const parent = await temporaryFolder(t);
  const sample = sampleFixture();
  const dir = join(parent, sample.meta.id);
  await t.rejects(writeFixtureFolder(dir, { ...sample.meta, family: 'bogus' as never }, sample.tensors), { code: 'E_SCHEMA', message: /\/family: expected one of/ });
  await t.rejects(writeFixtureFolder(join(parent, 'wrong-name'), sample.meta, sample.tensors), {
    code: 'E_FIXTURE',
    message: `${join(parent, 'wrong-name')}: a fixture folder must be named after its id: expected "${sample.meta.id}", found "wrong-name"`,
  });
  const wrongDtype = { ...sample.tensors, dy: { ...sample.tensors.dy, dtype: 'float16' as const, data: new Uint16Array(sample.tensors.dy.data.length) } };
  await t.rejects(writeFixtureFolder(dir, sample.meta, wrongDtype), { code: 'E_FIXTURE', message: `${dir}: tensor dy: expected dtype float32, found "float16"` });
  const wrongShape = { ...sample.tensors, 'db-magnitude': { ...sample.tensors['db-magnitude'], shape: [3, 2] } };
  await t.rejects(writeFixtureFolder(dir, sample.meta, wrongShape), { code: 'E_FIXTURE', message: `${dir}: tensor db-magnitude: expected shape [6] (meta.shapes), found [3,2]` });
  await t.rejects(stat(dir), { code: 'ENOENT' }, 'the folder was never created');
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
