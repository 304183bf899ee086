import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { screenshotPath, startWebSession, type WebSession } from './helpers/browser.js';

// Real Chromium (Debian's package, installed by .ci/run) against the built app on a loopback port.
// No skip when the browser is missing: CI installs it, and a silently skipped suite would prove nothing.
let web: WebSession;

before(async () => {
  web = await startWebSession();
});
after(async () => {
  await web?.close();
});

test('home page: loads clean and is cross-origin isolated', async () => {
  const { page, errors } = await web.open('index.html');
  await page.waitForFunction(() => document.getElementById('caps')!.children.length > 0);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.match((await page.textContent('#env'))!, /^isolated/);
  await page.screenshot({ path: screenshotPath('home'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
