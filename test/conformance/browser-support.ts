/**
 * Browser tests need Chromium (`.ci/run` installs it with apt). Outside CI a test
 * without a browser is skipped with a message saying so; under CI ($CI set) it fails:
 * no browser test skips silently there.
 */
import { isConformanceError } from '../../src/errors.js';
import { findBrowser } from '../../conformance/host/browser-host.js';

interface TapLike {
  plan(count: number, reason?: string): void;
  fail(message: string): void;
  end(): void;
}

/** The browser's path; when there is none, ends the test file (skipped, or failed under CI). */
export function requireBrowser(t: TapLike): string {
  try {
    return findBrowser(undefined);
  } catch (error) {
    if (!isConformanceError(error, 'E_USAGE')) throw error;
    if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
      t.fail(`CI has no browser for the browser tests: ${error.message}`);
      t.end();
    } else {
      t.plan(0, `no browser: ${error.message}`);
    }
    process.exit();
  }
}
