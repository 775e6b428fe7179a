/**
 * The runner keeps only a small record per verified fixture and reads its
 * fixture.json again when the fixture's turn comes (readVerifiedMeta): the same
 * metadata as when it was verified, and E_CHECKSUM if the file changed meanwhile.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readVerifiedMeta, type CorpusFixture } from '../../conformance/run.js';
import { isConformanceError } from '../../src/errors.js';
import { parseFixtureMeta } from '../../src/fixture-io.js';
import { sha256Hex } from '../../src/hash.js';
import { buildSmallCorpus } from '../helpers/small-corpus.js';

const root = t.testdir();
const corpus = await buildSmallCorpus(join(root, 'corpus'));

function recordFor(id: string): { record: CorpusFixture; path: string; bytes: Buffer } {
  const folder = join(corpus.dir, id);
  const path = join(folder, 'fixture.json');
  const bytes = readFileSync(path);
  const meta = parseFixtureMeta(bytes, path);
  const record: CorpusFixture = { id, case: meta.case, family: meta.family, dtype: meta.dtype, tags: meta.tags, params: meta.params, folder, metaSha256: sha256Hex(bytes) };
  return { record, path, bytes };
}

t.test('the metadata read again is the one verified', async (t) => {
  for (const id of corpus.ids) {
    const { record, path, bytes } = recordFor(id);
    t.same(readVerifiedMeta(record), parseFixtureMeta(bytes, path), id);
  }
});

t.test('a fixture.json changed after verification stops the run with E_CHECKSUM', async (t) => {
  const { record, path, bytes } = recordFor(corpus.ids[0]);
  // Same JSON, one more space: valid, but not the bytes that were verified.
  writeFileSync(path, Buffer.concat([bytes, Buffer.from(' ')]));
  t.teardown(() => writeFileSync(path, bytes));
  let caught: unknown;
  try {
    readVerifiedMeta(record);
  } catch (error) {
    caught = error;
  }
  t.ok(isConformanceError(caught, 'E_CHECKSUM'));
  t.match((caught as Error).message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: sha256 changed since the corpus was verified: expected ${record.metaSha256} \\(manifest.json\\), found [0-9a-f]{64}`));
});
