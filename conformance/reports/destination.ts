/**
 * Where a report may be written: anywhere but inside the corpus it scores (a
 * report there would overwrite a fixture file or manifest.json, or make the
 * corpus fail verification). Every report writer (--json, --junit, and any
 * later one such as --html) calls checkReportDestination before writing.
 * Both paths are compared after resolving symbolic links of their folders, so
 * a link into the corpus is refused too.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ConformanceError } from '../../src/errors.js';

/** `path` with the symbolic links of its nearest existing folder resolved. */
function resolveThroughLinks(path: string): string {
  const absolute = resolve(path);
  let folder = absolute;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(folder), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      const parent = dirname(folder);
      if (parent === folder) return absolute;
      rest.unshift(basename(folder));
      folder = parent;
    }
  }
}

/** Throws E_USAGE when `path` is the corpus folder or inside it. `option` names the flag (e.g. '--json'). */
export function checkReportDestination(path: string, corpusDir: string, option: string): void {
  const report = resolveThroughLinks(path);
  const corpus = resolveThroughLinks(corpusDir);
  const inside = relative(corpus, report);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new ConformanceError('E_USAGE', `${option} ${path}: refusing to write a report inside the corpus folder ${corpusDir} (it would change the corpus); write it elsewhere`, {
      option,
      path,
      corpusDir,
    });
  }
}
