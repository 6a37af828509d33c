// A real browser for end-to-end tests: Debian's Chromium driven by playwright-core. Runs when
// /usr/bin/chromium exists; skipped with a clear message otherwise, except in CI (CI=true),
// where a missing Chromium fails the run instead of skipping (as PostgreSQL does in databases.ts).
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const chromiumProblem = existsSync(CHROMIUM_PATH)
  ? undefined
  : `Chromium not found at ${CHROMIUM_PATH} (install it with: apt-get install -y chromium)`;
if (chromiumProblem && process.env.CI === 'true') {
  throw new Error(`Chromium is required in CI: ${chromiumProblem}`);
}

/** Why browser tests are skipped here, or undefined when they run. */
export const browserSkip: string | undefined = chromiumProblem ? `${chromiumProblem}: SKIPPED` : undefined;

if (browserSkip) console.log(`# ${browserSkip}`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * Simulates closing the browser and opening it again: a new context with the old one's
 * storage, minus the session cookies (those without an expiry), which a browser forgets.
 */
export async function restartBrowser(
  browser: Browser,
  context: BrowserContext,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const state = await context.storageState();
  await context.close();
  return browser.newContext({
    ...options,
    storageState: { ...state, cookies: state.cookies.filter((cookie) => cookie.expires !== -1) },
  });
}
