/**
 * Finding the browser (--browser, then $CHROME_PATH, then the usual system paths) and
 * the page start-up limit; no browser is started here. `impl` parsing of `browser:`.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { findBrowser } from '../../conformance/host/browser-host.js';
import { parseImpl } from '../../conformance/run.js';

const root = t.testdir();
function executable(name: string): string {
  const path = join(root, name);
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}
const first = executable('first');
const second = executable('second');
const notExecutable = join(root, 'plain');
writeFileSync(notExecutable, '');

t.test('order: --browser, then $CHROME_PATH, then the first system path that is an executable file', async (t) => {
  t.equal(findBrowser(first, { CHROME_PATH: second }, [second]), first);
  t.equal(findBrowser(undefined, { CHROME_PATH: second }, [first]), second);
  t.equal(findBrowser(undefined, {}, [join(root, 'missing'), notExecutable, second, first]), second);
  t.equal(findBrowser(undefined, { CHROME_PATH: '' }, [first]), first, 'an empty CHROME_PATH is unset');
});

t.test('a bad --browser or $CHROME_PATH is named, with what to install', async (t) => {
  t.throws(() => findBrowser(notExecutable, {}, [first]), {
    code: 'E_USAGE',
    message: `--browser: ${notExecutable} is not an executable file; install Chromium (Debian/Ubuntu: \`apt-get install -y chromium\`), or pass --browser PATH or set CHROME_PATH`,
  });
  t.throws(() => findBrowser(undefined, { CHROME_PATH: join(root, 'missing') }, [first]), { code: 'E_USAGE', message: /^CHROME_PATH: .*missing is not an executable file; install Chromium/ });
});

t.test('--impl browser:MODULE', async (t) => {
  t.same(parseImpl('browser:./kernel.js'), { kind: 'browser', path: resolve('./kernel.js') });
  t.throws(() => parseImpl('browser: '), { code: 'E_USAGE', message: "--impl browser:MODULE: expected an adapter module path after 'browser:', found nothing" });
});
