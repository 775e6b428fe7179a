/**
 * `import { fixturesDir } from 'conv2d-backward-conformance/fixtures'`: the path
 * of the corpus bundled with the package, for projects that read it themselves.
 */
import { join } from 'node:path';
import { bundledCorpusDir } from './paths.js';

export const fixturesDir: string = bundledCorpusDir();
export const manifestPath: string = join(fixturesDir, 'manifest.json');
