/**
 * The package's public entry points, imported by name the way another project
 * would (Node resolves a package's own name through its `exports`), from the
 * built dist/ (npm test builds first).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

t.test('the main entry exports the oracle, geometry and corpus readers', async (t) => {
  const library = await import('conv2d-backward-conformance');
  // 1x1 input, 1x1 kernel, no padding: y = x*w, so dx = dy*w, dw = dy*x, db = dy.
  const params = { stride: [1, 1] as [number, number], dilation: [1, 1] as [number, number], pads: { top: 0, bottom: 0, left: 0, right: 0 }, groups: 1 };
  const tensor = (value: number, shape: number[]) => ({ dtype: 'float64' as const, shape, data: new Float64Array([value]) });
  const { dx, dw, db } = library.conv2dBackward(tensor(3, [1, 1, 1, 1]), tensor(5, [1, 1, 1, 1]), tensor(7, [1, 1, 1, 1]), params);
  t.same([...dx.data, ...dw.data, ...db.data], [7 * 5, 7 * 3, 7]);
  t.equal(library.convOutputSize(7, 3, 2, 1, 1, 1), Math.floor((7 + 1 + 1 - 3) / 2) + 1, 'output size formula through the public entry');
  const manifest = await library.loadManifest(library.bundledCorpusDir());
  t.equal(manifest.fixtures.length, manifest.fixtureCount);
  t.ok(library.isConformanceError(new library.ConformanceError('E_USAGE', 'x', {}), 'E_USAGE'));
});

t.test('./fixtures points at the bundled corpus and its manifest', async (t) => {
  const { fixturesDir, manifestPath } = await import('conv2d-backward-conformance/fixtures');
  t.equal(manifestPath, join(fixturesDir, 'manifest.json'));
  t.ok(existsSync(manifestPath), `${manifestPath} exists`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { fixtures: { path: string }[] };
  t.ok(existsSync(join(fixturesDir, manifest.fixtures[0].path, 'fixture.json')), 'the first fixture folder is there');
});

t.test('./runner exports runConformance and exitCodeFor', async (t) => {
  const runner = await import('conv2d-backward-conformance/runner');
  t.type(runner.runConformance, 'function');
  t.type(runner.exitCodeFor, 'function');
});

t.test('every bin and export target is a file npm would ship', async (t) => {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    bin: Record<string, string>;
    exports: Record<string, string | { default: string; types: string }>;
    files: string[];
  };
  const root = new URL('../../', import.meta.url).pathname;
  const shipped = (path: string) => manifest.files.some((entry) => path.replace(/^\.\//, '').startsWith(entry));
  for (const [name, path] of Object.entries(manifest.bin)) {
    t.ok(existsSync(join(root, path)), `bin ${name}: ${path} exists`);
    t.ok(shipped(path), `bin ${name}: ${path} is under "files"`);
    // npx in the project runs the bin from a cached link, made (and chmod-ed) once per project
    // path: a rebuilt dist/ is runnable only if the build itself sets the mode (postbuild).
    t.equal(statSync(join(root, path)).mode & 0o111, 0o111, `bin ${name}: ${path} is executable`);
  }
  for (const [name, target] of Object.entries(manifest.exports)) {
    if (typeof target !== 'string') {
      for (const path of [target.default, target.types]) {
        t.ok(existsSync(join(root, path)), `export ${name}: ${path} exists`);
        t.ok(shipped(path), `export ${name}: ${path} is under "files"`);
      }
    }
  }
});
