/**
 * The --html report of a known self-test bug (buggy-dx-tail-not-zeroed: dx keeps
 * stale values in the rows and columns no window reads) opened in real headless
 * Chromium (playwright-core driving /usr/bin/chromium): no console errors, no
 * network request, one heat map per failing output, and a screenshot.
 *
 * Set HTML_REPORT_SCREENSHOT=PATH to also save the screenshot there (how
 * docs/images/html-report-dx-tail.png was made).
 */
import { existsSync } from 'node:fs';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import t from 'tap';
import { formatHtmlReport, writeHtmlReport } from '../../conformance/reports/html.js';
import { runConformance } from '../../conformance/run.js';
import { CATALOG, catalogModulePath } from '../../conformance/self-test/catalog.js';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURES = ['tail-one-row-col-normal-f32', 'tail-several-rows-normal-f32', 'tail-with-padding-normal-f32', 'stride-3-normal-f32'];

t.test('the HTML report of a self-test bug opens in headless Chromium with its maps', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install chromium)`);
  const entry = CATALOG.find((item) => item.name === 'buggy-dx-tail-not-zeroed')!;
  const result = await runConformance({ impl: catalogModulePath(entry), only: FIXTURES, errorMaps: true });
  const failing = result.outcomes.filter((outcome) => outcome.status === 'fail');
  t.equal(failing.length, FIXTURES.length, 'the bug fails every chosen fixture');
  // One map per failing output of each failing fixture (this bug breaks dx only).
  const expectedMaps = failing.reduce((sum, outcome) => sum + (outcome.status === 'fail' ? outcome.failing.length : 0), 0);
  t.equal(expectedMaps, FIXTURES.length, 'dx only');

  const dir = t.testdir();
  const path = join(dir, 'report.html');
  await writeHtmlReport(path, result);
  const html = await readFile(path, 'utf8');
  t.equal(html, formatHtmlReport(result), 'the file is the formatted report');
  t.notMatch(html, /<script|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'self-contained: no script, no linked resource, no URL but the SVG namespace');

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  // A fresh profile for each run: a new context is one (launch() already uses a temporary user-data-dir).
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:')) requests.push(request.url());
  });
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  t.same(problems, [], 'no console errors');
  t.same(requests, [], 'no network requests');
  t.equal(await page.locator('.error-map').count(), expectedMaps, 'one map per failing output');
  t.equal(await page.locator('.error-map[data-output="dx"] svg').count() > 0, true, 'the dx maps are drawn as SVG planes');
  // Every chosen fixture has an unread tail, so dx-tail ties with the signatures that only say where
  // failures are not (kernel flip, dx overwritten); the tie goes to the one that says where they are.
  t.match(await page.locator('ol li').first().innerText(), /^dx not cleared where no window reads \(unread tail\)/, 'the likely cause comes first on the page');
  const screenshot = join(dir, 'report.png');
  await page.screenshot({ path: screenshot, fullPage: false });
  t.ok((await stat(screenshot)).size > 10000, 'a screenshot was taken');
  if (process.env.HTML_REPORT_SCREENSHOT) await copyFile(screenshot, process.env.HTML_REPORT_SCREENSHOT);
});
