import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { expect, it, onTestFinished } from 'vitest';
import { assertChromium, CHROMIUM_FLAGS, CHROMIUM_PATH } from './clients/chromium.js';
import { spawnExampleMain } from './example-hostile.js';
import type { ConformanceServer } from './harness.js';
import { fetchRaw, postBody, sleep } from './http-client.js';

export interface DashboardContext {
  /** Starts the example in this process (`buildApp()`), closed when the test ends. */
  serve(): Promise<ConformanceServer>;
  /** Absolute path of the example's `src/main.ts`. */
  main: string;
}

/** What the page's `window.__dashboard.snapshot()` returns (examples/kit/dashboard/main.ts). */
interface DashboardSnapshot {
  state: 'connecting' | 'connected' | 'disconnected';
  readyState: number | undefined;
  reconnects: number;
  lastReconnectAt: number | undefined;
  events: number;
  history: { state: string; at: number }[];
  charts: Record<
    string,
    { points: number; latest: { x: number; values: Record<string, number | null> } | undefined }
  >;
}

const STREAM_PATH = '/app/metrics?stream=true';

/** `UPDATE_SCREENSHOT=1`: the Chromium test also saves the page as docs/dashboard.png. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1';
const SCREENSHOT_PATH = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url));

const snapshotOf = (page: Page) =>
  page.evaluate(() =>
    (
      globalThis as unknown as { __dashboard: { snapshot(): DashboardSnapshot } }
    ).__dashboard.snapshot(),
  );

/** Polls the page until `check` holds, failing with `what` and the last snapshot after `timeoutMs`. */
async function waitForPage(
  page: Page,
  check: (snapshot: DashboardSnapshot) => boolean,
  what: string,
  timeoutMs: number,
): Promise<DashboardSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snapshot = await snapshotOf(page);
    if (check(snapshot)) return snapshot;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; the page: ${JSON.stringify(snapshot)}`,
      );
    }
    await sleep(100);
  }
}

/** The little of the DOM {@link shown} reads (the examples type-check without the DOM library). */
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
interface PageWindow {
  document: {
    getElementById(id: string): PageElement | null;
    querySelectorAll(selector: string): { length: number };
  };
  getComputedStyle(element: PageElement): { backgroundColor: string };
}

/** What the page shows in the DOM: the indicator's state and colour, the reconnect counter. */
const shown = (page: Page) =>
  page.evaluate(() => {
    const { document, getComputedStyle } = globalThis as unknown as PageWindow;
    const indicator = document.getElementById('connection')!;
    return {
      state: indicator.dataset.state,
      label: document.getElementById('connection-label')?.textContent,
      dot: getComputedStyle(indicator.querySelector('.dot')!).backgroundColor,
      reconnects: document.getElementById('reconnects')?.textContent,
      lastReconnect: document.getElementById('last-reconnect')?.textContent,
      canvases: document.querySelectorAll('.chart canvas').length,
    };
  });

const GREEN = 'rgb(22, 163, 74)';
const AMBER = 'rgb(217, 119, 6)';
const RED = 'rgb(220, 38, 38)';

/**
 * `GET /dashboard`, the live dashboard every example serves (examples/kit/src/dashboard.ts): the
 * page and its bundle under a strict Content-Security-Policy, then, in headless Chromium, live
 * charts of `/app/metrics?stream=true`, the connection indicator and its reconnect counter across
 * a restart of the server, with no console or page error.
 */
export function dashboardContractTests({ serve, main }: DashboardContext): void {
  it('GET /dashboard serves the page, its script and its styles under a CSP without inline scripts', async () => {
    const { url } = await serve();
    const page = await fetchRaw(`${url}/dashboard`);
    // A 500 here says the bundle was not built, and how to build it.
    expect(page.status, page.body).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script type="module" src="/dashboard.js"></script>');
    expect(page.body).toContain('<link rel="stylesheet" href="/dashboard.css">');
    // No inline script for the CSP to refuse.
    expect(page.body.match(/<script\b[^>]*>/g)).toEqual([
      '<script type="module" src="/dashboard.js">',
    ]);
    const script = await fetchRaw(`${url}/dashboard.js`);
    expect(script.status, script.body).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain(STREAM_PATH);
    expect(script.body).toContain('uPlot');
    const styles = await fetchRaw(`${url}/dashboard.css`);
    expect(styles.status, styles.body).toBe(200);
    expect(styles.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(styles.body).toContain('.uplot');
    const head = await fetchRaw(`${url}/dashboard.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(head.body).toBe('');
    expect((await fetchRaw(`${url}/dashboard.map`)).status).toBe(404);
  });

  it(
    'in Chromium: /dashboard plots live metrics, is green, goes amber or red on a restart and green again, counting the reconnect; no console or page error',
    async () => {
      assertChromium();
      // Both runs on one port chosen here, as `PORT=3000` would be. (A uWS example started on
      // port 0 leaves TIME_WAIT sockets that keep the next process from binding that port for a
      // minute; one started on a given port does not: it reuses the address.)
      const port = String(await freePort());
      const first = await spawnExampleMain(main, { PORT: port });
      const browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        args: CHROMIUM_FLAGS,
      });
      onTestFinished(() => browser.close());
      const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
      const problems: { text: string; url: string; at: number }[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') {
          problems.push({ text: message.text(), url: message.location().url, at: Date.now() });
        }
      });
      page.on('pageerror', (error) => {
        problems.push({ text: `uncaught: ${error.message}`, url: '', at: Date.now() });
      });

      const response = await page.goto(`${first.url}/dashboard`);
      expect(response?.status(), await response?.text()).toBe(200);
      await page.waitForFunction(() => '__dashboard' in globalThis, undefined, { timeout: 5000 });

      // Live: green, and points that keep coming.
      const early = await waitForPage(
        page,
        (s) => s.state === 'connected' && (s.charts.memory?.points ?? 0) >= 3,
        'the indicator to turn green and the memory chart to have 3 points',
        10_000,
      );
      expect(early.readyState).toBe(1);
      expect(early.reconnects).toBe(0);
      const later = await waitForPage(
        page,
        (s) => (s.charts.memory?.points ?? 0) >= (early.charts.memory?.points ?? 0) + 2,
        'two more points',
        5000,
      );
      const before = early.charts.memory!.latest!;
      const after = later.charts.memory!.latest!;
      expect(after.x).toBeGreaterThan(before.x);
      expect(after.values.rss).toBeGreaterThan(0);
      expect(after.values.heapUsed).toBeGreaterThan(0);
      for (const chart of ['delay', 'utilization']) {
        expect(later.charts[chart]?.points, chart).toBeGreaterThanOrEqual(3);
        for (const value of Object.values(later.charts[chart]!.latest!.values)) {
          expect(value, `${chart}: ${JSON.stringify(later.charts[chart])}`).toBeTypeOf('number');
        }
      }
      expect(later.charts.utilization!.latest!.values.utilisation).toBeLessThanOrEqual(100);
      // The styles loaded too (the CSP let them): three charts, and a green dot.
      expect(await shown(page)).toMatchObject({
        state: 'connected',
        label: 'connected',
        dot: GREEN,
        reconnects: '0',
        lastReconnect: 'never',
        canvases: 3,
      });

      if (SCREENSHOT) await exercise(first.url, 30_000);

      // Restart the server on the same port: SIGINT ends the stream with `event: shutdown` and
      // a `retry:` hint of 5 to 10 s, as `pnpm start` does on Ctrl+C.
      const stoppedAt = Date.now();
      first.child.kill('SIGINT');
      expect(await new Promise((resolve) => first.child.once('exit', resolve))).toBe(0);
      const dropped = await waitForPage(
        page,
        (s) => s.state !== 'connected',
        'the indicator to leave green once the server has stopped',
        5000,
      );
      expect(['connecting', 'disconnected']).toContain(dropped.state);
      const down = await shown(page);
      expect(['connecting', 'disconnected']).toContain(down.state);
      expect([AMBER, RED]).toContain(down.dot);
      const second = await spawnExampleMain(main, { PORT: port });
      expect(second.url).toBe(first.url);
      const back = await waitForPage(
        page,
        (s) => s.state === 'connected' && s.reconnects === 1,
        'the indicator to turn green again with one reconnect',
        30_000,
      );
      const reconnectedAt = Date.now();
      expect(back.lastReconnectAt).toBeGreaterThan(stoppedAt);
      const states = back.history.map((entry) => entry.state);
      expect(states[0]).toBe('connecting');
      expect(states.at(-1)).toBe('connected');
      const restart = states.slice(states.indexOf('connected') + 1, -1);
      expect(restart.length, `states: ${states.join(' → ')}`).toBeGreaterThan(0);
      expect(restart.every((state) => state === 'connecting' || state === 'disconnected')).toBe(
        true,
      );
      const resumed = await waitForPage(
        page,
        (s) => s.events >= back.events + 2,
        'two events from the restarted server',
        5000,
      );
      expect(resumed.charts.memory!.latest!.x).toBeGreaterThan(after.x);
      const dom = await shown(page);
      expect(dom).toMatchObject({ state: 'connected', dot: GREEN, reconnects: '1' });
      expect(dom.lastReconnect).not.toBe('never');

      if (SCREENSHOT) {
        await exercise(second.url, 8000);
        await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
      }

      // While the server was down, Chromium reports a failed reconnection of the stream as a
      // network error; that one is expected. So is a 503 from the old server, if a reconnection
      // reached it while it was still closing (Fastify answers every request then with 503, and an
      // engine that is shutting down refuses new streams with one): the page then retries. Nothing
      // else may be logged.
      const unexpected = problems.filter(
        (problem) =>
          !(
            problem.at >= stoppedAt &&
            problem.at <= reconnectedAt &&
            problem.url.endsWith(STREAM_PATH) &&
            /net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|INCOMPLETE_CHUNKED_ENCODING)|status of 503 \(Service Unavailable\)/.test(
              problem.text,
            )
          ),
      );
      expect(unexpected).toEqual([]);
    },
    SCREENSHOT ? 150_000 : 60_000,
  );
}

/** A port nothing listens on now, from the kernel. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * For the screenshot only: `ms` of work for the server, so the charts have something to show
 * (events published in bursts, which take memory and event-loop time).
 */
async function exercise(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  const payload = JSON.stringify({ event: 'load', data: 'x'.repeat(48 * 1024) });
  for (let round = 0; Date.now() < until; round += 1) {
    const burst = 10 + (round % 7) * 15;
    await Promise.all(
      Array.from({ length: burst }, () =>
        postBody(`${url}/publish`, payload, { 'Content-Type': 'application/json' }),
      ),
    );
    await sleep(400);
  }
}
