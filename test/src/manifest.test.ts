import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FIXTURE_META_FILE, writeFixtureFolder } from '../../src/fixture-io.js';
import { sha256Hex } from '../../src/hash.js';
import {
  MANIFEST_FILE,
  buildManifest,
  computeCorpusDigest,
  loadManifest,
  readManifestEntry,
  serializeManifest,
  verifyCorpus,
  writeManifest,
} from '../../src/manifest.js';
import { writeNpy } from '../../src/npy.js';
import { allocateData } from '../../src/dtype.js';
import type { Dtype, Manifest, ManifestEntry } from '../../src/types.js';
import { sampleFixture } from '../helpers/sample-fixture.js';

const IDS = ['sample-b-normal-f16', 'sample-a-exact-f64'];

/** A corpus of two fixtures with its manifest, built once and copied per test. */
let pristine = '';
t.before(async () => {
  pristine = join(await mkdtemp(join(tmpdir(), 'manifest-')), 'corpus');
  await mkdir(pristine);
  const entries: ManifestEntry[] = [];
  for (const [index, id] of IDS.entries()) {
    const sample = sampleFixture({ id, dtype: index === 0 ? 'float16' : 'float64', family: index === 0 ? 'normal' : 'exact', seed: 100 + index });
    await writeFixtureFolder(join(pristine, id), sample.meta, sample.tensors);
    entries.push(await readManifestEntry(join(pristine, id)));
  }
  await writeManifest(pristine, buildManifest({ corpusVersion: '1.0.0', generator: { name: 'test', version: '0.0.1' }, entries }));
});
t.teardown(() => rm(join(pristine, '..'), { recursive: true, force: true }));

async function corpusCopy(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const folder = join(await mkdtemp(join(tmpdir(), 'manifest-copy-')), 'corpus');
  t.teardown(() => rm(join(folder, '..'), { recursive: true, force: true }));
  await cp(pristine, folder, { recursive: true });
  return folder;
}

async function editJson(path: string, edit: (value: any) => void): Promise<void> {
  const value = JSON.parse(await readFile(path, 'utf8'));
  edit(value);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Rewrite the manifest after an edit of its entries, with a digest that matches them again. */
async function editManifestEntries(corpus: string, edit: (manifest: Manifest) => void): Promise<void> {
  await editJson(join(corpus, MANIFEST_FILE), (manifest: Manifest) => {
    edit(manifest);
    manifest.digest = computeCorpusDigest(manifest.fixtures);
  });
}

t.test('computeCorpusDigest hashes the sorted lines `<path>/<file> <sha256>\\n`', async (t) => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const c = 'c'.repeat(64);
  const entries = [
    { id: 'zeta', path: 'zeta', family: 'normal', dtype: 'float32', tags: [], files: { 'x.npy': a, 'fixture.json': b } },
    { id: 'alpha', path: 'alpha', family: 'normal', dtype: 'float32', tags: [], files: { 'w.npy': c } },
  ] as unknown as ManifestEntry[];
  // Written out by hand, in code-unit order of the paths.
  const text = `alpha/w.npy ${c}\nzeta/fixture.json ${b}\nzeta/x.npy ${a}\n`;
  const expected = createHash('sha256').update(text).digest('hex');
  t.equal(computeCorpusDigest(entries), expected);
  t.equal(computeCorpusDigest([...entries].reverse()), expected, 'entry order does not matter');
  const reordered = entries.map((entry) => ({ ...entry, files: Object.fromEntries(Object.entries(entry.files).reverse()) }));
  t.equal(computeCorpusDigest(reordered), expected, 'file key order does not matter');
  t.equal(computeCorpusDigest([]), createHash('sha256').update('').digest('hex'));
});

t.test('an intact corpus loads and verifies clean', async (t) => {
  const manifest = await loadManifest(pristine);
  t.equal(manifest.fixtureCount, 2);
  t.same(manifest.fixtures.map((entry) => entry.id), [...IDS].sort(), 'entries sorted by id');
  t.equal(await readFile(join(pristine, MANIFEST_FILE), 'utf8'), serializeManifest(manifest));
  const entry = manifest.fixtures.find((item) => item.id === IDS[0]) as ManifestEntry;
  t.equal(Object.keys(entry.files).length, 10, 'fixture.json and the nine .npy files');
  t.equal(entry.files[FIXTURE_META_FILE], sha256Hex(await readFile(join(pristine, IDS[0], FIXTURE_META_FILE))));
  t.same(await verifyCorpus(pristine), []);
  t.same(await verifyCorpus(pristine, { deep: true }), []);
});

t.test('the witness report beside the manifest is allowed', async (t) => {
  const corpus = await corpusCopy(t);
  await writeFile(join(corpus, 'witness-report.json'), '{}\n');
  t.same(await verifyCorpus(corpus), []);
});

t.test('loadManifest refuses a manifest that is missing, invalid or inconsistent', async (t) => {
  const corpus = await corpusCopy(t);
  const source = join(corpus, MANIFEST_FILE);
  const original = await readFile(source, 'utf8');
  const restore = () => writeFile(source, original);

  await editJson(source, (manifest) => (manifest.digest = '0'.repeat(64)));
  const digest = computeCorpusDigest((await loadManifestUnchecked(original)).fixtures);
  await t.rejects(loadManifest(corpus), {
    code: 'E_MANIFEST',
    message: `${source}: digest does not match the listed files: expected ${digest} (computed from the entries), found ${'0'.repeat(64)}`,
  });
  await restore();
  await editJson(source, (manifest) => (manifest.fixtures[0].files['x.npy'] = 'f'.repeat(64)));
  await t.rejects(loadManifest(corpus), { code: 'E_MANIFEST', message: /digest does not match the listed files/ }, 'a changed file checksum changes the digest');
  await restore();
  await editJson(source, (manifest) => (manifest.fixtureCount = 3));
  await t.rejects(loadManifest(corpus), { code: 'E_MANIFEST', message: `${source}: fixtureCount: expected 2 (the number of fixtures listed), found 3` });
  await restore();
  await editManifestEntries(corpus, (manifest) => {
    manifest.fixtures.push({ ...manifest.fixtures[0] });
    manifest.fixtureCount = 3;
  });
  await t.rejects(loadManifest(corpus), { code: 'E_MANIFEST', message: `${source}: /fixtures/2/id: fixture id "${[...IDS].sort()[0]}" is listed twice` });
  await restore();
  await editManifestEntries(corpus, (manifest) => (manifest.fixtures[1].path = 'elsewhere'));
  await t.rejects(loadManifest(corpus), { code: 'E_MANIFEST', message: `${source}: /fixtures/1/path: expected the fixture id "${[...IDS].sort()[1]}", found "elsewhere"` });
  await restore();
  await editJson(source, (manifest) => (manifest.corpusVersion = 'v1'));
  await t.rejects(loadManifest(corpus), { code: 'E_SCHEMA', message: new RegExp(`/corpusVersion: expected a semantic version like 1\\.2\\.3, found "v1"`) });
  await writeFile(source, '{');
  await t.rejects(loadManifest(corpus), { code: 'E_MANIFEST', message: new RegExp(`^${escapeRegExp(source)}: expected JSON, found text that does not parse`) });
  await rm(source);
  await t.rejects(loadManifest(corpus), { code: 'E_MISSING_FILE', message: `${source}: expected the corpus manifest, found no such file` });
  t.same(await verifyCorpus(corpus), [{ path: MANIFEST_FILE, code: 'E_MISSING_FILE', problem: `${source}: expected the corpus manifest, found no such file` }]);
});

async function loadManifestUnchecked(text: string): Promise<Manifest> {
  return JSON.parse(text) as Manifest;
}

t.test('verifyCorpus reports each problem with its path', async (t) => {
  const [first, second] = [...IDS].sort();

  t.test('missing file and missing folder', async (t) => {
    const corpus = await corpusCopy(t);
    await rm(join(corpus, first, 'dy.npy'));
    await rm(join(corpus, second), { recursive: true });
    t.same(await verifyCorpus(corpus), [
      { path: `${first}/dy.npy`, code: 'E_MISSING_FILE', problem: `missing file listed in ${MANIFEST_FILE}` },
      { path: second, code: 'E_MISSING_FILE', problem: `missing fixture folder listed in ${MANIFEST_FILE}` },
    ]);
  });

  t.test('changed bytes', async (t) => {
    const corpus = await corpusCopy(t);
    const path = join(corpus, first, 'db-magnitude.npy');
    const bytes = await readFile(path);
    const expected = sha256Hex(bytes);
    bytes[bytes.length - 1] ^= 0x80;
    await writeFile(path, bytes);
    t.same(await verifyCorpus(corpus), [{ path: `${first}/db-magnitude.npy`, code: 'E_CHECKSUM', problem: `bytes changed: sha256 expected ${expected} (${MANIFEST_FILE}), found ${sha256Hex(bytes)}` }]);
  });

  t.test('schema-invalid fixture.json', async (t) => {
    const corpus = await corpusCopy(t);
    await editJson(join(corpus, second, FIXTURE_META_FILE), (meta) => (meta.seed = 'eleven'));
    const problems = await verifyCorpus(corpus);
    t.equal(problems.length, 2, 'its bytes changed, and it is invalid');
    t.equal(problems[0].path, `${second}/${FIXTURE_META_FILE}`);
    t.match(problems[0].problem, /^bytes changed: sha256 expected [0-9a-f]{64} \(manifest\.json\), found [0-9a-f]{64}$/);
    t.equal(problems[1].path, `${second}/${FIXTURE_META_FILE}`);
    t.equal(problems[0].code, 'E_CHECKSUM');
    t.match(problems[1].problem, /fixture\.json does not match its schema \(1 problem\):\n {2}\/seed: must be integer, found "eleven"$/);
    t.equal(problems[1].code, 'E_SCHEMA', 'a schema problem is E_SCHEMA, not E_CHECKSUM');
  });

  t.test('fixture.json disagreeing with its manifest entry', async (t) => {
    const corpus = await corpusCopy(t);
    // family, dtype and tags are not covered by the digest; change them in the manifest only.
    await editManifestEntries(corpus, (manifest) => {
      manifest.fixtures[0].family = 'wide';
      manifest.fixtures[0].tags = ['groups'];
    });
    t.same(await verifyCorpus(corpus), [
      { path: `${first}/${FIXTURE_META_FILE}`, code: 'E_MANIFEST', problem: `family disagrees with ${MANIFEST_FILE}: manifest has "wide", fixture.json has "exact"` },
      { path: `${first}/${FIXTURE_META_FILE}`, code: 'E_MANIFEST', problem: `tags disagrees with ${MANIFEST_FILE}: manifest has ["groups"], fixture.json has ["groups","stride","dilation"]` },
    ]);
  });

  t.test('fixture.json and manifest both changed consistently, but fixture.json lists other checksums', async (t) => {
    const corpus = await corpusCopy(t);
    const metaPath = join(corpus, first, FIXTURE_META_FILE);
    await editJson(metaPath, (meta) => (meta.files.x.sha256 = '1'.repeat(64)));
    const newSha = sha256Hex(await readFile(metaPath));
    await editManifestEntries(corpus, (manifest) => (manifest.fixtures[0].files[FIXTURE_META_FILE] = newSha));
    t.same(await verifyCorpus(corpus), [
      { path: `${first}/${FIXTURE_META_FILE}`, code: 'E_MANIFEST', problem: `files sha256 of x.npy disagrees with ${MANIFEST_FILE}: manifest has "${(await loadManifest(pristine)).fixtures[0].files['x.npy']}", fixture.json has "${'1'.repeat(64)}"` },
    ]);
  });

  t.test('unexpected files and folders', async (t) => {
    const corpus = await corpusCopy(t);
    await writeFile(join(corpus, 'notes.txt'), 'hello');
    await mkdir(join(corpus, 'stray-fixture'));
    await writeFile(join(corpus, second, 'extra.npy'), writeNpy({ dtype: 'float64', shape: [1], data: new Float64Array(1) }));
    await mkdir(join(corpus, second, 'nested'));
    const problems = await verifyCorpus(corpus);
    t.same(
      problems.sort((a, b) => (a.path < b.path ? -1 : 1)),
      [
        { path: 'notes.txt', code: 'E_MANIFEST', problem: `unexpected file: expected only ${MANIFEST_FILE} and the fixture folders the manifest lists` },
        { path: `${second}/extra.npy`, code: 'E_MANIFEST', problem: `unexpected file: not listed in ${MANIFEST_FILE}` },
        { path: `${second}/nested`, code: 'E_MANIFEST', problem: `unexpected folder: not listed in ${MANIFEST_FILE}` },
        { path: 'stray-fixture', code: 'E_MANIFEST', problem: `unexpected folder: expected only ${MANIFEST_FILE} and the fixture folders the manifest lists` },
      ],
    );
  });

  t.test('deep verification loads every fixture', async (t) => {
    const corpus = await corpusCopy(t);
    // A fixture whose files and manifest agree, and x.npy has the right size but the wrong shape
    // ((2, 4, 6, 5) for (2, 4, 5, 6): same header length, same element count): only decoding finds it.
    const folder = join(corpus, first);
    const dtype = JSON.parse(await readFile(join(folder, FIXTURE_META_FILE), 'utf8')).dtype as Dtype;
    await writeFile(join(folder, 'x.npy'), writeNpy({ dtype, shape: [2, 4, 6, 5], data: allocateData(dtype, 240) }));
    await refreshChecksums(corpus, folder, 'x.npy');
    t.same(await verifyCorpus(corpus), [], 'checksums alone agree');
    const problems = await verifyCorpus(corpus, { deep: true });
    t.same(problems, [
      { path: `${first}/x.npy`, code: 'E_FIXTURE', problem: 'shape does not match fixture.json shapes.x: expected (2, 4, 5, 6), found (2, 4, 6, 5)' },
    ]);
  });

  t.test('a file of the wrong size is refused by its size, before it is read', async (t) => {
    const corpus = await corpusCopy(t);
    const folder = join(corpus, first);
    const small = writeNpy({ dtype: 'float64', shape: [1], data: new Float64Array(1) });
    await writeFile(join(folder, 'x.npy'), small);
    await refreshChecksums(corpus, folder, 'x.npy');
    // The first fixture is float64: np.save's header for (2, 4, 5, 6) is 128 bytes, then 240 elements of 8 bytes.
    t.same(await verifyCorpus(corpus), [
      {
        path: `${first}/x.npy`,
        code: 'E_FILE_SIZE',
        problem: `expected ${128 + 240 * 8} bytes (np.save's header and data for float64 shape (2, 4, 5, 6), from fixture.json), found ${small.length}`,
      },
    ]);
  });

  t.test('symbolic links, FIFOs and folders are named as such, and every other problem is still listed', async (t) => {
    const corpus = await corpusCopy(t);
    await rm(join(corpus, first, 'dx.npy'));
    symlinkSync('/etc/passwd', join(corpus, first, 'dx.npy'));
    await rm(join(corpus, first, 'dw.npy'));
    execFileSync('mkfifo', [join(corpus, first, 'dw.npy')]);
    await rm(join(corpus, second, 'db.npy'));
    await mkdir(join(corpus, second, 'db.npy'));
    const bytes = await readFile(join(corpus, second, 'x.npy'));
    bytes[bytes.length - 1] ^= 0x01;
    await writeFile(join(corpus, second, 'x.npy'), bytes);
    // Each is refused without reading (the FIFO would block a plain read forever), and the rest goes on.
    for (const deep of [false, true]) {
      const problems = await verifyCorpus(corpus, { deep });
      t.same(
        problems.map((problem) => [problem.path, problem.code, problem.problem]).sort(),
        [
          [`${first}/dw.npy`, 'E_FILE_KIND', 'expected a regular file, found a FIFO'],
          [`${first}/dx.npy`, 'E_FILE_KIND', 'expected a regular file, found a symbolic link'],
          [`${second}/db.npy`, 'E_FILE_KIND', 'expected a regular file, found a folder'],
          [`${second}/x.npy`, 'E_CHECKSUM', `bytes changed: sha256 expected ${(await loadManifest(pristine)).fixtures[1].files['x.npy']} (${MANIFEST_FILE}), found ${sha256Hex(bytes)}`],
        ].sort(),
        `deep: ${deep}`,
      );
    }
  });

  t.test('a deeply nested .npy shape is a clear E_NPY, and the other fixtures are still checked', async (t) => {
    const corpus = await corpusCopy(t);
    const folder = join(corpus, first);
    const original = await readFile(join(folder, 'db.npy'));
    // Same size as the real file: the header text is replaced by 100 nested '(' (no stack overflow, no size refusal).
    const nested = Buffer.from(original);
    nested.write(`{'descr': '<f8', 'fortran_order': False, 'shape': ${'('.repeat(100)}`, 10, 'latin1');
    await writeFile(join(folder, 'db.npy'), nested);
    await refreshChecksums(corpus, folder, 'db.npy');
    const x = await readFile(join(corpus, second, 'x.npy'));
    x[x.length - 1] ^= 0x01;
    await writeFile(join(corpus, second, 'x.npy'), x);
    const problems = await verifyCorpus(corpus, { deep: true });
    t.equal(problems.length, 2, 'both problems listed');
    const npy = problems.find((problem) => problem.path === `${first}/db.npy`);
    t.equal(npy?.code, 'E_NPY');
    t.match(npy?.problem, /^malformed header at character \d+: expected literals nested at most 16 deep/);
    t.ok(problems.some((problem) => problem.path === `${second}/x.npy` && problem.code === 'E_CHECKSUM'));
  });
});

/** After editing `file` of `folder`: its sha256 into fixture.json, and both into the manifest. */
async function refreshChecksums(corpus: string, folder: string, file: string): Promise<void> {
  const sha = sha256Hex(await readFile(join(folder, file)));
  const name = file.replace(/\.npy$/, '');
  await editJson(join(folder, FIXTURE_META_FILE), (meta) => (meta.files[name].sha256 = sha));
  const metaSha = sha256Hex(await readFile(join(folder, FIXTURE_META_FILE)));
  const id = folder.split('/').pop();
  await editManifestEntries(corpus, (manifest) => {
    const entry = manifest.fixtures.find((candidate) => candidate.id === id)!;
    entry.files[file] = sha;
    entry.files[FIXTURE_META_FILE] = metaSha;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
