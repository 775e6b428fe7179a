/**
 * The forward files of a fixture folder (forward.json, y.npy, y-magnitude.npy, corpus 1.2.0):
 * written beside an unchanged fixture, loaded into LoadedFixture.forward, refused at the
 * boundary with errors naming file, field, expected and found, and covered by the manifest
 * and checkCorpus. A folder without them still loads, with forward undefined.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { isConformanceError } from '../../src/errors.js';
import { FIXTURE_META_FILE, loadFixture, loadFixtureTensors, readFixtureMeta, writeFixtureFolder, writeForwardFiles } from '../../src/fixture-io.js';
import { forwardExpectation } from '../../src/forward-expected.js';
import { sha256Hex } from '../../src/hash.js';
import { buildManifest, checkCorpus, readManifestEntry, serializeManifest, verifyCorpus, writeManifest } from '../../src/manifest.js';
import { writeNpy } from '../../src/npy.js';
import { FORWARD_META_FILE } from '../../src/schemas/forward-schema.js';
import { validateManifest } from '../../src/schemas/validate.js';
import type { Dtype, FixtureMeta, Float64Tensor, ForwardExpectation, ManifestEntry } from '../../src/types.js';
import { sampleFixture } from '../helpers/sample-fixture.js';

type Teardown = { teardown(fn: () => unknown): void };

async function temporaryFolder(t: Teardown): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'forward-files-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

function float64(tensor: { shape: number[]; data: ArrayLike<number> }): Float64Tensor {
  return { dtype: 'float64', shape: [...tensor.shape], data: Float64Array.from(tensor.data) };
}

/** A sample fixture folder with its forward files; x and w decoded from the written tensors. */
async function writtenSample(t: Teardown, options: { id?: string; dtype?: Dtype; parent?: string } = {}) {
  const dtype = options.dtype ?? 'float32';
  const sample = sampleFixture({ dtype, ...(options.id === undefined ? {} : { id: options.id }) });
  const dir = join(options.parent ?? (await temporaryFolder(t)), sample.meta.id);
  const written = await writeFixtureFolder(dir, sample.meta, sample.tensors);
  // float32 and float64 samples hold their values as numbers (multiples of 1/4, exact in either).
  const x = float64(sample.tensors.x as { shape: number[]; data: Float32Array | Float64Array });
  const w = float64(sample.tensors.w as { shape: number[]; data: Float32Array | Float64Array });
  const forward = forwardExpectation(x, w, sample.meta.params, dtype);
  const fixtureFiles = await readdir(dir);
  const writtenForward = await writeForwardFiles(dir, written.meta, forward, { agreed: true, backends: ['onnxruntime'] });
  return { dir, meta: written.meta, forward, fixtureFiles, writtenForward, metaSha256: written.metaSha256 };
}

async function editJson(path: string, edit: (value: Record<string, any>) => void): Promise<void> {
  const value = JSON.parse(await readFile(path, 'utf8'));
  edit(value);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

function sameTensor(a: Float64Tensor, b: Float64Tensor): boolean {
  return a.shape.join() === b.shape.join() && a.data.length === b.data.length && a.data.every((value, index) => Object.is(value, b.data[index]));
}

async function rejects(t: { ok(value: unknown, message: string): void; fail(message: string): void; match(value: unknown, pattern: RegExp, message: string): void }, promise: Promise<unknown>, code: string, pattern: RegExp, message: string): Promise<void> {
  try {
    await promise;
    t.fail(`${message}: expected ${code}, it loaded`);
  } catch (error) {
    t.ok(isConformanceError(error, code as never), `${message}: ${code} (got ${(error as { code?: string }).code})`);
    t.match((error as Error).message, pattern, message);
  }
}

t.test('write then load: forward.json, y.npy, y-magnitude.npy beside an unchanged fixture, back bit for bit', async (t) => {
  for (const dtype of ['float32', 'float64'] as Dtype[]) {
    const { dir, meta, forward, fixtureFiles, writtenForward } = await writtenSample(t, { dtype });
    // The sample: x [2, 4, 5, 6], w [6, 2, 3, 2], stride [2, 1], dilation [1, 2], pads 1/0/2/1: OH = (5+1-3)/2+1 = 2, OW = 6+3-3+1 = 7.
    t.same(meta.shapes.dy, [2, 6, 2, 7]);
    t.same((await readdir(dir)).sort(), [...fixtureFiles, 'forward.json', 'y.npy', 'y-magnitude.npy'].sort(), `${dtype}: three files added`);
    const loaded = await loadFixture(dir);
    t.same(loaded.meta, meta, `${dtype}: fixture.json unchanged`);
    const got = loaded.forward as ForwardExpectation;
    t.ok(got !== undefined, `${dtype}: forward loaded`);
    t.ok(sameTensor(got.y, forward.y), `${dtype}: y bit for bit`);
    t.ok(sameTensor(got.yMagnitude, forward.yMagnitude), `${dtype}: yMagnitude bit for bit`);
    t.equal(got.rule, forward.rule);
    t.equal(got.accumulationLength, 2 * 3 * 2, `${dtype}: (C/groups)*KH*KW of w [6, 2, 3, 2]`);
    t.same(got.y.shape, meta.shapes.dy, `${dtype}: y is [N, Cout, OH, OW]`);
    t.equal(writtenForward.sha256, sha256Hex(await readFile(join(dir, FORWARD_META_FILE))), 'the sha256 returned is the bytes written');
    const text = await readFile(join(dir, FORWARD_META_FILE), 'utf8');
    t.equal(JSON.parse(text).tolerance.unitRoundoff, meta.tolerance.unitRoundoff, "the fixture's unit roundoff");
    const again = await writtenSample(t, { dtype });
    t.equal(await readFile(join(again.dir, FORWARD_META_FILE), 'utf8'), text, `${dtype}: the same input writes the same forward.json`);
    t.same(await readFile(join(again.dir, 'y.npy')), await readFile(join(dir, 'y.npy')), `${dtype}: and the same y.npy`);
  }
});

t.test('a fixture folder without forward.json loads with forward undefined', async (t) => {
  const sample = sampleFixture();
  const dir = join(await temporaryFolder(t), sample.meta.id);
  await writeFixtureFolder(dir, sample.meta, sample.tensors);
  const loaded = await loadFixture(dir);
  t.equal(loaded.forward, undefined);
  t.notOk('forward' in loaded, 'no forward key at all');
});

t.test('forwardMeta: null skips forward.json; a given one is used without reading it again', async (t) => {
  const { dir, meta, writtenForward } = await writtenSample(t);
  t.equal(loadFixtureTensors(dir, meta, { forwardMeta: null }).forward, undefined);
  await rm(join(dir, FORWARD_META_FILE));
  t.ok(loadFixtureTensors(dir, meta, { forwardMeta: writtenForward.forward }).forward !== undefined);
});

t.test('bad forward files are refused, naming the file, the field, what was expected and what was found', async (t) => {
  const cases: { name: string; edit: (dir: string, meta: FixtureMeta) => Promise<void>; code: string; pattern: RegExp }[] = [
    {
      name: 'shape not [N, Cout, OH, OW]',
      edit: (dir) => editJson(join(dir, FORWARD_META_FILE), (value) => (value.shape = [2, 6, 4, 3])),
      code: 'E_FIXTURE',
      pattern: /forward\.json: shape: expected \(2, 6, 2, 7\) \(\[N, Cout, OH, OW\] from fixture\.json's x, w and params\), found \(2, 6, 4, 3\)/,
    },
    {
      name: 'another fixture id',
      edit: (dir) => editJson(join(dir, FORWARD_META_FILE), (value) => (value.id = 'other-fixture')),
      code: 'E_FIXTURE',
      pattern: /forward\.json: id: expected "sample-stride-2x1-normal-f32".*found "other-fixture"/,
    },
    {
      name: 'accumulation length',
      edit: (dir) => editJson(join(dir, FORWARD_META_FILE), (value) => (value.tolerance.outputs.y.accumulationLength = 13)),
      code: 'E_FIXTURE',
      pattern: /tolerance\.outputs\.y\.accumulationLength: expected 12 .*found 13/,
    },
    {
      name: 'unit roundoff of another dtype',
      edit: (dir) => editJson(join(dir, FORWARD_META_FILE), (value) => (value.tolerance.unitRoundoff = 2 ** -53)),
      code: 'E_FIXTURE',
      pattern: /tolerance\.unitRoundoff: expected 5\.96.*float32.*found 1\.11/,
    },
    {
      name: 'a float32 y declared',
      edit: (dir) => editJson(join(dir, FORWARD_META_FILE), (value) => (value.files.y.dtype = 'float32')),
      code: 'E_SCHEMA',
      pattern: /\/files\/y\/dtype: expected "float64", found "float32"/,
    },
    {
      name: 'y.npy changed',
      edit: async (dir) => {
        const bytes = await readFile(join(dir, 'y.npy'));
        bytes[bytes.length - 1] ^= 1;
        await writeFile(join(dir, 'y.npy'), bytes);
      },
      code: 'E_CHECKSUM',
      pattern: /y\.npy: sha256 does not match forward\.json: expected [0-9a-f]{64}, found [0-9a-f]{64}/,
    },
    {
      name: 'y.npy of another shape with the same size',
      edit: async (dir, meta) => {
        const [n, o, oh, ow] = meta.shapes.dy;
        const swapped = { dtype: 'float64' as const, shape: [n, o, ow, oh], data: new Float64Array(n * o * oh * ow) };
        const bytes = writeNpy(swapped);
        await writeFile(join(dir, 'y.npy'), bytes);
        await editJson(join(dir, FORWARD_META_FILE), (value) => (value.files.y.sha256 = sha256Hex(bytes)));
      },
      code: 'E_FIXTURE',
      pattern: /y\.npy: shape does not match forward\.json shape: expected \(2, 6, 2, 7\), found \(2, 6, 7, 2\)/,
    },
    {
      name: 'y-magnitude.npy missing',
      edit: (dir) => rm(join(dir, 'y-magnitude.npy')),
      code: 'E_MISSING_FILE',
      pattern: /y-magnitude\.npy/,
    },
    {
      name: 'forward.json not JSON',
      edit: (dir) => writeFile(join(dir, FORWARD_META_FILE), '{'),
      code: 'E_FIXTURE',
      pattern: /forward\.json: expected JSON/,
    },
  ];
  for (const { name, edit, code, pattern } of cases) {
    const { dir, meta } = await writtenSample(t);
    await edit(dir, meta);
    await rejects(t, loadFixture(dir), code, pattern, name);
  }
});

t.test('the manifest lists the forward files; checkCorpus and verify cover them', async (t) => {
  const pristine = join(await temporaryFolder(t), 'corpus');
  await mkdir(pristine);
  const entries: ManifestEntry[] = [];
  const ids = ['sample-a-normal-f32', 'sample-b-normal-f32'];
  for (const id of ids) {
    const { dir, meta, metaSha256, writtenForward } = await writtenSample(t, { id, parent: pristine });
    const entry = await readManifestEntry(dir);
    t.equal(entry.files[FIXTURE_META_FILE], metaSha256);
    t.equal(entry.files[FORWARD_META_FILE], writtenForward.sha256, 'forward.json listed with its sha256');
    t.equal(entry.files['y.npy'], writtenForward.forward.files.y.sha256, 'y.npy listed');
    t.equal(entry.files['y-magnitude.npy'], writtenForward.forward.files['y-magnitude'].sha256, 'y-magnitude.npy listed');
    t.equal(Object.keys(entry.files).length, 13, 'ten fixture files and three forward files');
    t.same(readFixtureMeta(dir).meta, meta);
    entries.push(entry);
  }
  await writeManifest(pristine, buildManifest({ corpusVersion: '1.2.0', generator: { name: 'test', version: '0.0.1' }, entries }));
  t.same(await verifyCorpus(pristine, { deep: true }), [], 'an intact corpus with y verifies clean');
  const check = await checkCorpus(pristine, { tensors: 'later' });
  t.same(check.problems, []);
  t.same(check.fixtures.map((fixture) => fixture.forward?.id), ids, 'each verified fixture carries its forward.json');

  const copy = async (): Promise<string> => {
    const dir = join(await temporaryFolder(t), 'corpus');
    await cp(pristine, dir, { recursive: true });
    return dir;
  };
  {
    const dir = await copy();
    const bytes = await readFile(join(dir, ids[0], 'y.npy'));
    bytes[bytes.length - 1] ^= 1;
    await writeFile(join(dir, ids[0], 'y.npy'), bytes);
    const problems = await verifyCorpus(dir);
    t.same(problems.map((problem) => [problem.path, problem.code]), [[`${ids[0]}/y.npy`, 'E_CHECKSUM']], 'changed y.npy: E_CHECKSUM at its path');
  }
  {
    const dir = await copy();
    await rm(join(dir, ids[1], FORWARD_META_FILE));
    const check = await checkCorpus(dir, { tensors: 'later' });
    t.same(check.problems.map((problem) => [problem.path, problem.code]), [[`${ids[1]}/forward.json`, 'E_MISSING_FILE']], 'a listed forward.json missing');
    t.same(check.fixtures.map((fixture) => fixture.meta.id), [ids[0]], 'and that fixture is not verified');
  }
  {
    const dir = await copy();
    await editJson(join(dir, ids[0], FORWARD_META_FILE), (value) => (value.witnesses.backends = []));
    const problems = await verifyCorpus(dir);
    t.same(problems.map((problem) => [problem.path, problem.code]), [[`${ids[0]}/forward.json`, 'E_CHECKSUM']], 'edited forward.json: E_CHECKSUM against the manifest');
  }
  {
    const manifest = JSON.parse(serializeManifest(buildManifest({ corpusVersion: '1.2.0', generator: { name: 'test', version: '0.0.1' }, entries })));
    delete manifest.fixtures[0].files['y-magnitude.npy'];
    t.throws(() => validateManifest(manifest, 'manifest.json'), /files: .*y-magnitude\.npy|y-magnitude\.npy/, 'forward.json without y-magnitude.npy is refused by the schema');
  }
});
