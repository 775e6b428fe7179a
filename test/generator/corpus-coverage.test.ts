/**
 * The committed corpus covers what the issue asks for, and is what the catalog says.
 * Reads fixtures/manifest.json (the real corpus), so a catalog change that drops a
 * required case, or a corpus that was not regenerated, fails here.
 */
import t from 'tap';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadManifest } from '../../src/manifest.js';
import { loadFixture, loadFixtureMeta } from '../../src/fixture-io.js';
import { bundledCorpusDir } from '../../src/paths.js';
import { DATA_FAMILIES, DTYPES } from '../../src/types.js';
import { PRECISION_DTYPES } from '../../generator/case-catalog.js';
import { REQUIRED_COVERAGE } from '../../generator/case-tags.js';
import { planCorpus } from '../../generator/fixture-plan.js';
import { DATA_FAMILY_DEFINITIONS } from '../../src/data-families.js';
import { CORPUS_VERSION, GENERATOR_VERSION } from '../../generator/corpus-version.js';

const corpusDir = bundledCorpusDir();

t.test('every required tag, family and dtype has at least one fixture', async (t) => {
  const manifest = await loadManifest(corpusDir);
  const tagCounts = new Map<string, number>();
  for (const entry of manifest.fixtures) for (const tag of entry.tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
  for (const [tag, meaning] of Object.entries(REQUIRED_COVERAGE)) {
    t.ok((tagCounts.get(tag) ?? 0) > 0, `tag ${tag} (${meaning}) has a fixture`);
  }
  for (const family of DATA_FAMILIES) t.ok(manifest.fixtures.some((entry) => entry.family === family), `family ${family} has a fixture`);
  const generated: string[] = [...new Set(manifest.fixtures.map((entry) => entry.dtype))];
  for (const dtype of DTYPES) t.ok(generated.includes(dtype), `dtype ${dtype} has a fixture`);
  t.ok(PRECISION_DTYPES.includes('bfloat16'), 'bfloat16 is generated beside float16 (since corpus 1.1.0)');
  // Issue 4: at least 400 fixtures.
  t.ok(manifest.fixtureCount >= 400, `at least 400 fixtures (found ${manifest.fixtureCount})`);
});

t.test('every float16 fixture has a bfloat16 twin of the same case and family (corpus 1.1.0, issue 16)', async (t) => {
  const manifest = await loadManifest(corpusDir);
  const key = (entry: { id: string }, suffix: string) => entry.id.slice(0, -suffix.length);
  const float16 = manifest.fixtures.filter((entry) => entry.dtype === 'float16');
  const bfloat16 = new Map(manifest.fixtures.filter((entry) => entry.dtype === 'bfloat16').map((entry) => [key(entry, '-bf16'), entry]));
  t.ok(float16.length > 0, `the corpus has float16 fixtures (${float16.length})`);
  const missing = float16.filter((entry) => !bfloat16.has(key(entry, '-f16'))).map((entry) => entry.id);
  t.same(missing, [], 'no float16 fixture lacks its bfloat16 twin');
  t.equal(bfloat16.size, float16.length, 'and no bfloat16 fixture without a float16 one');
  for (const entry of float16) {
    const twin = bfloat16.get(key(entry, '-f16'));
    if (twin !== undefined && (twin.family !== entry.family || JSON.stringify(twin.tags) !== JSON.stringify(entry.tags))) t.fail(`${twin.id}: family or tags differ from ${entry.id}`);
  }
  // Both witnesses are checked for every fixture below. The exact ones are exact for bfloat16:
  // integer data whose largest magnitude (sum of |products|) is at most 2^8, bfloat16's 8 significand bits.
  let exactChecked = 0;
  for (const twin of bfloat16.values()) {
    const meta = await loadFixtureMeta(join(corpusDir, twin.path));
    if (meta.dtype !== 'bfloat16' || meta.tolerance.unitRoundoff !== 2 ** -8) t.fail(`${twin.id}: dtype ${meta.dtype}, u ${meta.tolerance.unitRoundoff}`);
    if (meta.family !== 'exact') continue;
    const tensors = await loadFixture(join(corpusDir, twin.path));
    const largest = Math.max(...(['dx-magnitude', 'dw-magnitude', 'db-magnitude'] as const).map((name) => Math.max(...tensors[name].data)));
    if (!(largest <= 2 ** 8)) t.fail(`${twin.id}: largest magnitude ${largest} exceeds 2^8`);
    exactChecked++;
  }
  t.equal(exactChecked, float16.filter((entry) => entry.family === 'exact').length, 'every exact bfloat16 fixture checked');
});

t.test('the corpus is what the catalog plans, under the current version', async (t) => {
  const manifest = await loadManifest(corpusDir);
  const plans = planCorpus();
  t.equal(manifest.corpusVersion, CORPUS_VERSION, 'corpus version matches generator/corpus-version.ts');
  t.same(
    manifest.fixtures.map((entry) => entry.id),
    plans.map((plan) => plan.id),
    'the manifest lists exactly the planned fixture ids (regenerate after editing the catalog)',
  );
  const byId = new Map(plans.map((plan) => [plan.id, plan]));
  for (const entry of manifest.fixtures) {
    const plan = byId.get(entry.id);
    if (!plan) continue;
    if (JSON.stringify(entry.tags) !== JSON.stringify(plan.tags)) t.fail(`${entry.id}: tags differ from the catalog's derived tags`);
  }
  const packageJson = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  t.equal(GENERATOR_VERSION, packageJson.version, 'GENERATOR_VERSION equals package.json version');
});

t.test('each fixture states its family rule and witnesses', async (t) => {
  const manifest = await loadManifest(corpusDir);
  let checked = 0;
  for (const entry of manifest.fixtures) {
    const meta = await loadFixtureMeta(join(corpusDir, entry.path));
    if (meta.tolerance.rule !== DATA_FAMILY_DEFINITIONS[meta.family].rule) t.fail(`${meta.id}: rule ${meta.tolerance.rule} is not its family's`);
    if (!meta.witnesses.agreed || meta.witnesses.backends.join(',') !== 'onnxruntime,tensorflow.js') t.fail(`${meta.id}: not witnessed by both backends`);
    checked++;
  }
  t.equal(checked, manifest.fixtureCount, 'every fixture.json read');
});

t.test('the corpus stays under 25 MB (issue 4)', async (t) => {
  const manifest = await loadManifest(corpusDir);
  let bytes = 0;
  for (const entry of manifest.fixtures) for (const file of Object.keys(entry.files)) bytes += (await stat(join(corpusDir, entry.path, file))).size;
  t.ok(bytes < 25e6, `corpus is ${(bytes / 1e6).toFixed(2)} MB`);
});
