import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import {
  type ClientConnection,
  type ClientDriver,
  type ReceivedEvent,
  waitForCount,
} from './types.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface PageState {
  __events: ReceivedEvent[];
  __source: EventSource;
}

/** Fails with what is missing, and how to get it, when there is no Chromium. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}. The test command installs it on Debian (node scripts/ensure-system-deps.mjs chromium); elsewhere install Chromium and set CHROMIUM_PATH.`,
    );
  }
}

/** Headless Chromium's own `EventSource`: the reference client. One browser per driver, one page per connection. */
export function chromiumDriver(): ClientDriver {
  let browser: Promise<Browser> | undefined;
  const launch = () => {
    assertChromium();
    browser ??= chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });
    return browser;
  };
  return {
    name: 'Chromium EventSource',
    deviations: {},
    async open(url, types = ['message']): Promise<ClientConnection> {
      const context = await (await launch()).newContext();
      const page: Page = await context.newPage();
      // Same origin as the stream, so no CORS is involved.
      await page.goto(new URL('/', url).href);
      await page.evaluate(
        ({ streamUrl, eventTypes }) => {
          const state = globalThis as unknown as PageState;
          state.__events = [];
          state.__source = new EventSource(streamUrl);
          for (const type of eventTypes) {
            state.__source.addEventListener(type, (event) => {
              const message = event as MessageEvent;
              state.__events.push({
                type,
                data: String(message.data),
                lastEventId: message.lastEventId,
              });
            });
          }
        },
        { streamUrl: url, eventTypes: [...types] },
      );
      const read = () => page.evaluate(() => (globalThis as unknown as PageState).__events.slice());
      return {
        events: read,
        waitForEvents: (count, timeoutMs = 8000) =>
          waitForCount(read, count, timeoutMs, 'Chromium EventSource'),
        readyState: () =>
          page.evaluate(() => (globalThis as unknown as PageState).__source.readyState),
        close: async () => {
          await page
            .evaluate(() => (globalThis as unknown as PageState).__source.close())
            .catch(() => {});
          await context.close();
        },
      };
    },
    async dispose() {
      if (browser) await (await browser).close();
      browser = undefined;
    },
  };
}
