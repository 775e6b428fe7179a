/**
 * computeCorpusDigest hashes folder by folder (no list of every line): the result
 * must be the digest of all lines `<path>/<file> <sha256>\n` sorted as a whole,
 * also for folder names that are prefixes of each other, where '-' (0x2d) sorts
 * before '/' (0x2f): 'a-b/x.npy' comes before 'a/x.npy' although 'a' < 'a-b'.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { computeCorpusDigest } from '../../src/manifest.js';
import type { ManifestEntry } from '../../src/types.js';

/** The definition, written plainly: every line, sorted in code-unit order, joined. */
function referenceDigest(entries: readonly ManifestEntry[]): string {
  const lines = entries.flatMap((entry) => Object.entries(entry.files).map(([file, sha256]) => `${entry.path}/${file} ${sha256}\n`));
  lines.sort((a, b) => {
    const keyA = a.slice(0, a.indexOf(' '));
    const keyB = b.slice(0, b.indexOf(' '));
    return keyA < keyB ? -1 : keyA > keyB ? 1 : 0;
  });
  return createHash('sha256').update(lines.join('')).digest('hex');
}

t.test('folder-by-folder hashing gives the digest of the globally sorted lines', async (t) => {
  const paths = ['a', 'a-b', 'ab', 'a-b-c', 'a-0', 'b', 'a1'];
  const files = ['fixture.json', 'x.npy', 'dx-magnitude.npy', 'dx.npy', 'w.npy'];
  const entries = paths.map((path, index) => ({
    id: path,
    path,
    family: 'normal',
    dtype: 'float32',
    tags: [],
    // A distinct sha256 per line (64 hex digits), so that any change of order changes the digest.
    files: Object.fromEntries(files.map((file, position) => [file, ((index * files.length + position) % 16).toString(16).repeat(64)])),
  })) as unknown as ManifestEntry[];
  const expected = referenceDigest(entries);
  t.equal(computeCorpusDigest(entries), expected);
  t.equal(computeCorpusDigest([...entries].reverse()), expected, 'whatever the entry order');
  // The lines do interleave folders in the global order: a-b/* sorts before a/*.
  const sortedKeys = entries.flatMap((entry) => Object.keys(entry.files).map((file) => `${entry.path}/${file}`)).sort();
  t.ok(sortedKeys.indexOf('a-b/x.npy') < sortedKeys.indexOf('a/fixture.json'), "'-' sorts before '/'");
});
