/**
 * The python3 the tests run: $PYTHON when set (.ci/run points it at Debian's python3
 * when the first python3 on PATH lacks numpy or pytest), else `python3`.
 *
 * numpyUnavailable() is the skip reason for tests that need numpy (and pytest), or
 * false when they can run. Under CI (CI set) a missing numpy is not a reason to
 * skip: the documented Python examples must run there, so the test runs and fails.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON: string = process.env.PYTHON ?? 'python3';

export function pythonHas(modules: string[]): boolean {
  return spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0;
}

export function pythonSkipReason(modules: string[]): string | false {
  if (pythonHas(modules)) return false;
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') return false;
  return `${PYTHON} cannot import ${modules.join(', ')} (set PYTHON to a python3 that can)`;
}
