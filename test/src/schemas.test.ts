import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import t from 'tap';
import { reportSchema } from '../../src/schemas/report-schema.js';
import { SCHEMA_FILES, emitSchemas, renderSchema, staleSchemas } from '../../generator/emit-schemas.js';
import { PACKAGE_NAME, bundledCorpusDir, packageRoot, schemaDir } from '../../src/paths.js';
import { FIXTURE_TENSOR_NAMES, fixtureSchema } from '../../src/schemas/fixture-schema.js';
import { forwardSchema } from '../../src/schemas/forward-schema.js';
import { manifestSchema } from '../../src/schemas/manifest-schema.js';
import { validateFixtureMeta, validateManifest } from '../../src/schemas/validate.js';
import type { FixtureMeta, Manifest } from '../../src/types.js';
import { sampleFixture } from '../helpers/sample-fixture.js';

const SHA_A = 'a'.repeat(64);

function validMeta(): FixtureMeta {
  const { meta } = sampleFixture();
  const files = Object.fromEntries(
    FIXTURE_TENSOR_NAMES.map((name) => [name, { path: `${name}.npy`, dtype: ['x', 'w', 'dy'].includes(name) ? meta.dtype : 'float64', sha256: SHA_A }]),
  ) as FixtureMeta['files'];
  // A deep copy without aliases (the sample shares shape arrays between x and dx, w and dw; structuredClone would keep that).
  return JSON.parse(JSON.stringify({ ...meta, files })) as FixtureMeta;
}

function validManifest(): Manifest {
  const files = Object.fromEntries(['fixture.json', ...FIXTURE_TENSOR_NAMES.map((name) => `${name}.npy`)].map((name) => [name, SHA_A]));
  return {
    corpusVersion: '1.2.0-rc.1+build.5',
    formatVersion: 1,
    generator: { name: 'conv2d-backward-conformance', version: '0.1.0' },
    fixtureCount: 1,
    digest: 'b'.repeat(64),
    fixtures: [{ id: 'stride-2x3-pads-asym-normal-f32', path: 'stride-2x3-pads-asym-normal-f32', family: 'normal', dtype: 'float32', tags: ['stride'], files }],
  };
}

/** The problems listed in an E_SCHEMA message, one per line after the first. */
function problemLines(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    if (code !== 'E_SCHEMA') throw error;
    return message.split('\n').slice(1).map((line) => line.trim());
  }
  throw new Error('expected an E_SCHEMA error');
}

t.test('the committed schema/*.json files equal the TypeScript schema objects', async (t) => {
  for (const { file, schema } of SCHEMA_FILES) {
    const path = join(schemaDir(), file);
    t.ok(existsSync(path), `${path} exists (run generator/emit-schemas.ts to write it)`);
    t.equal(readFileSync(path, 'utf8'), `${JSON.stringify(schema, null, 2)}\n`, `${file} is up to date`);
  }
  t.same(await staleSchemas(), []);
  // The emitter writes exactly that text.
  const folder = await mkdtemp(join(tmpdir(), 'schemas-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const written = await emitSchemas(folder);
  t.equal(written.length, 4);
  t.same(await staleSchemas(folder), []);
  t.equal(await readFile(join(folder, 'fixture.schema.json'), 'utf8'), renderSchema(fixtureSchema));
  t.same(SCHEMA_FILES.map(({ schema }) => schema), [fixtureSchema, forwardSchema, manifestSchema, reportSchema]);
});

t.test('the emitted JSON files work on their own with a fresh Ajv2020', async (t) => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const fixture = ajv.compile(JSON.parse(readFileSync(join(schemaDir(), 'fixture.schema.json'), 'utf8')));
  const manifest = ajv.compile(JSON.parse(readFileSync(join(schemaDir(), 'manifest.schema.json'), 'utf8')));
  t.ok(fixture(validMeta()), 'a valid fixture.json passes');
  t.notOk(fixture({ ...validMeta(), dtype: 'int8' }), 'a bad one fails');
  t.ok(manifest(validManifest()), 'a valid manifest passes');
  t.notOk(manifest({ ...validManifest(), formatVersion: 2 }), 'a bad one fails');
  const forward = ajv.compile(JSON.parse(readFileSync(join(schemaDir(), 'forward.schema.json'), 'utf8')));
  const bundled = join(bundledCorpusDir(), 'basic-3x3-pad1-exact-f16', 'forward.json');
  t.ok(forward(JSON.parse(readFileSync(bundled, 'utf8'))), "a bundled fixture's forward.json passes");
  t.notOk(forward({ ...JSON.parse(readFileSync(bundled, 'utf8')), op: 'conv2d_backward' }), 'a bad one fails');
});

t.test('valid documents pass unchanged', async (t) => {
  const meta = validMeta();
  t.equal(validateFixtureMeta(meta, 'fixture.json'), meta);
  const manifest = validManifest();
  t.equal(validateManifest(manifest, 'manifest.json'), manifest);
});

t.test('fixture.json problems are listed one by one with their JSON path and the file name', async (t) => {
  const source = 'fixtures/case-a/fixture.json';
  const cases: { name: string; edit: (meta: any) => void; line: string }[] = [
    { name: 'id not kebab-case', edit: (meta) => (meta.id = 'Stride_2'), line: '/id: expected kebab-case (lowercase letters and digits in words joined by single hyphens), found "Stride_2"' },
    { name: 'id with a double hyphen', edit: (meta) => (meta.id = 'a--b'), line: '/id: expected kebab-case' },
    { name: 'sha256 upper case', edit: (meta) => (meta.files.x.sha256 = 'A'.repeat(64)), line: `/files/x/sha256: expected a sha256: 64 lowercase hex digits, found "${'A'.repeat(64)}"` },
    { name: 'dtype', edit: (meta) => (meta.dtype = 'int8'), line: '/dtype: expected one of "float16", "float32", "float64", "bfloat16", found "int8"' },
    { name: 'output file dtype', edit: (meta) => (meta.files.dx.dtype = 'float32'), line: '/files/dx/dtype: expected "float64", found "float32"' },
    { name: 'file path', edit: (meta) => (meta.files.w.path = '../w.npy'), line: '/files/w/path: expected "w.npy", found "../w.npy"' },
    { name: 'family', edit: (meta) => (meta.family = 'uniform'), line: '/family: expected one of "exact", "normal", "wide", "cancel", "onehot-dy", "zeros", "special", found "uniform"' },
    { name: 'negative shape', edit: (meta) => (meta.shapes.w[0] = -1), line: '/shapes/w/0: must be >= 0, found -1' },
    { name: 'fractional shape', edit: (meta) => (meta.shapes.dy[2] = 2.5), line: '/shapes/dy/2: must be integer, found 2.5' },
    { name: 'shape rank', edit: (meta) => (meta.shapes.db = [6, 1]), line: '/shapes/db: must NOT have more than 1 items, found [6,1]' },
    { name: 'formatVersion', edit: (meta) => (meta.formatVersion = 2), line: '/formatVersion: expected 1, found 2' },
    { name: 'op', edit: (meta) => (meta.op = 'conv2d'), line: '/op: expected "conv2d_backward", found "conv2d"' },
    { name: 'extra property', edit: (meta) => (meta.params.padding = 'SAME'), line: '/params: unexpected property "padding" (allowed: stride, dilation, pads, groups)' },
    { name: 'missing property', edit: (meta) => delete meta.witnesses, line: '/: missing property "witnesses"' },
    { name: 'stride of zero', edit: (meta) => (meta.params.stride = [0, 1]), line: '/params/stride/0: must be >= 1, found 0' },
    { name: 'magnitude name', edit: (meta) => (meta.tolerance.outputs.db.magnitude = 'dx-magnitude'), line: '/tolerance/outputs/db/magnitude: expected "db-magnitude", found "dx-magnitude"' },
    { name: 'missing file', edit: (meta) => delete meta.files['dw-magnitude'], line: '/files: missing property "dw-magnitude"' },
    { name: 'seed', edit: (meta) => (meta.seed = -3), line: '/seed: must be >= 0, found -3' },
  ];
  for (const { name, edit, line } of cases) {
    const meta = validMeta();
    edit(meta);
    let message = '';
    try {
      validateFixtureMeta(meta, source);
    } catch (error) {
      message = (error as Error).message;
      t.equal((error as { code: string }).code, 'E_SCHEMA', name);
    }
    t.ok(message.startsWith(`${source}: fixture.json does not match its schema (1 problem):\n`), `${name}: names the file and counts 1 problem: ${message.split('\n')[0]}`);
    t.ok(message.includes(`\n  ${line}`), `${name}: ${line}`);
  }
  // Several problems are all listed.
  const lines = problemLines(() => validateFixtureMeta({ ...validMeta(), dtype: 'int8', seed: 1.5, extra: 1 }, source));
  t.equal(lines.length, 3);
  t.same(lines.map((line) => line.split(':')[0]).sort(), ['/', '/dtype', '/seed']);
  t.same(problemLines(() => validateFixtureMeta('not an object', source)), ['/: must be object, found "not an object"']);
});

t.test('manifest.json problems are listed with their JSON path and the file name', async (t) => {
  const source = 'fixtures/manifest.json';
  const cases: { name: string; edit: (manifest: any) => void; line: string }[] = [
    { name: 'corpusVersion not semver', edit: (manifest) => (manifest.corpusVersion = '1.0'), line: '/corpusVersion: expected a semantic version like 1.2.3, found "1.0"' },
    { name: 'corpusVersion leading zero', edit: (manifest) => (manifest.corpusVersion = '01.0.0'), line: '/corpusVersion: expected a semantic version' },
    { name: 'formatVersion', edit: (manifest) => (manifest.formatVersion = 0), line: '/formatVersion: expected 1, found 0' },
    { name: 'digest', edit: (manifest) => (manifest.digest = 'xyz'), line: '/digest: expected a sha256: 64 lowercase hex digits, found "xyz"' },
    { name: 'entry family', edit: (manifest) => (manifest.fixtures[0].family = 'random'), line: '/fixtures/0/family: expected one of' },
    { name: 'entry path', edit: (manifest) => (manifest.fixtures[0].path = '../escape'), line: '/fixtures/0/path: expected kebab-case' },
    { name: 'entry file sha', edit: (manifest) => (manifest.fixtures[0].files['dx.npy'] = 'nope'), line: '/fixtures/0/files/dx.npy: expected a sha256' },
    { name: 'entry extra file', edit: (manifest) => (manifest.fixtures[0].files['notes.txt'] = SHA_A), line: '/fixtures/0/files: unexpected property "notes.txt"' },
    { name: 'entry missing file', edit: (manifest) => delete manifest.fixtures[0].files['fixture.json'], line: '/fixtures/0/files: missing property "fixture.json"' },
    { name: 'fixtureCount', edit: (manifest) => (manifest.fixtureCount = -1), line: '/fixtureCount: must be >= 0, found -1' },
  ];
  for (const { name, edit, line } of cases) {
    const manifest = validManifest();
    edit(manifest);
    const lines = problemLines(() => validateManifest(manifest, source));
    t.equal(lines.length, 1, `${name}: one problem`);
    t.ok(lines[0].startsWith(line), `${name}: ${lines[0]}`);
  }
  t.throws(() => validateManifest({}, source), { code: 'E_SCHEMA', message: new RegExp(`^${source.replace(/[./]/g, '\\$&')}: manifest\\.json does not match its schema \\(6 problems\\)`) });
});

t.test('packageRoot finds this package from the sources', async (t) => {
  const root = packageRoot();
  t.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name, PACKAGE_NAME);
  t.equal(bundledCorpusDir(), join(root, 'fixtures'));
  t.equal(schemaDir(), join(root, 'schema'));
  t.equal(packageRoot(), root, 'cached and stable');
});
