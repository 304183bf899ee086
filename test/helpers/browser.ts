import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildApp, defaultWebRoot, type AppOptions } from '../../src/server/app.js';
import { defaultModelsDir } from '../../src/lab/mnist/models.js';

/** Debian's chromium; the tests never download a browser. */
export const CHROMIUM = process.env.W2SD_CHROMIUM ?? '/usr/bin/chromium';


export interface WebSession {
  readonly url: string;
  readonly browser: Browser;
  /** Opens a page and records console errors and page errors into `errors`. */
  open(path: string): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/**
 * The built web app on a loopback port and a headless Chromium driving it; close() stops both. Flags: no
 * sandbox when running as root (CI containers), and WebGPU through the software adapter when asked.
 */
export async function startWebSession(opts: Partial<AppOptions> = {}, flags: readonly string[] = []): Promise<WebSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`browser tests need Chromium at ${CHROMIUM} (Debian package chromium; .ci/run installs it)`);
  const app: FastifyInstance = await buildApp({ webRoot: defaultWebRoot(), modelsDir: defaultModelsDir(), ...opts });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  let browser: Browser;
  try {
    const args = [...flags];
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    browser = await chromium.launch({ executablePath: CHROMIUM, args, headless: true });
  } catch (e) {
    await app.close();
    throw e;
  }
  return {
    url,
    browser,
    async open(path) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('response', (r) => {
        if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
      });
      await page.goto(new URL(path, url).href);
      return { page, errors };
    },
    async close() {
      await browser.close().catch(() => undefined);
      await app.close();
    },
  };
}

/** Screenshots go to out/web (ignored by git); docs/ keeps the committed copies. */
export function screenshotPath(name: string): string {
  mkdirSync('out/web', { recursive: true });
  return `out/web/${name}.png`;
}
