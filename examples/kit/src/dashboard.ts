import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What {@link dashboardAsset} answers: every server sends it as it is. */
export interface DashboardAnswer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string;
}

/** The paths {@link dashboardAsset} answers: the page, its script and its styles. */
export const DASHBOARD_PATHS = ['/dashboard', '/dashboard.js', '/dashboard.css'] as const;

/** Where `pnpm build` (esbuild, `examples/kit/package.json`) writes the page's script and styles. */
const DIST = new URL('../dist/', import.meta.url);

/** How to build the bundle, in the answer that says it is missing. */
export const DASHBOARD_BUILD_COMMAND =
  'npx pnpm@10.34.9 --filter @sse-middleware/example-kit build';

/**
 * Scripts and styles from this origin only, no inline script or style, no eval, no frames, and
 * the page's only connection its own `/app/metrics?stream=true`. (uPlot sizes its elements through
 * the CSSOM, which `style-src` does not restrict.) The empty `data:` favicon keeps the browser
 * from asking for `/favicon.ico`.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live dashboard · sse-middleware example</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<header>
  <h1>Live dashboard<small>this process, streamed once a second from <code>GET /app/metrics?stream=true</code></small></h1>
  <div id="connection" class="connection" data-state="connecting" role="status" aria-live="polite" title="green: connected; amber: connecting or reconnecting; red: a reconnection failed, or the browser gave up and the page retries">
    <span class="dot"></span><span id="connection-label">connecting…</span>
  </div>
  <dl class="facts">
    <div><dt>reconnects</dt><dd id="reconnects">0</dd></div>
    <div><dt>last reconnect</dt><dd id="last-reconnect">never</dd></div>
    <div><dt>last event</dt><dd id="last-event">none yet</dd></div>
    <div><dt>uptime</dt><dd id="uptime">–</dd></div>
  </dl>
  <p id="note" class="note"></p>
</header>
<main>
  <section class="wide"><h2>Memory (<code>process.memoryUsage()</code>)</h2><div id="chart-memory" class="chart"></div></section>
  <section><h2>Event-loop delay (<code>monitorEventLoopDelay</code>, per second)</h2><div id="chart-delay" class="chart"></div></section>
  <section><h2>Event-loop utilisation (<code>performance.eventLoopUtilization</code>)</h2><div id="chart-utilization" class="chart"></div></section>
</main>
<noscript>The dashboard draws its charts with JavaScript: allow scripts from this origin.</noscript>
</body>
</html>
`;

const ASSETS: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['/dashboard.js', { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' }],
  ['/dashboard.css', { file: 'dashboard.css', type: 'text/css; charset=utf-8' }],
]);

/** The bundle's files, read once when they are first asked for (restart to serve a rebuilt one). */
const bundle = new Map<string, string>();

/** A bundle file, or `undefined` when it has not been built. */
function bundled(file: string): string | undefined {
  let text = bundle.get(file);
  if (text === undefined) {
    try {
      text = readFileSync(new URL(file, DIST), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    bundle.set(file, text);
  }
  return text;
}

function missingBundle(file: string): DashboardAnswer {
  const path = fileURLToPath(new URL(file, DIST));
  const message = `The dashboard's bundle is missing: ${path} has not been built. Build it with \`${DASHBOARD_BUILD_COMMAND}\` (every example's \`start\` script and the repository's test command build it first).`;
  console.error(`[dashboard] ${message}`);
  return {
    status: 500,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
    body: `500 Internal Server Error\n\n${message}\n`,
  };
}

/**
 * The live dashboard, whatever the server: the answer to a GET of `/dashboard` (the page),
 * `/dashboard.js` or `/dashboard.css` (its bundle, built with uPlot into `examples/kit/dist/`),
 * or `undefined` for any other path. The page follows `GET /app/metrics?stream=true` with an
 * `EventSource` and plots the process's memory and event loop; every answer carries
 * {@link DASHBOARD_CSP}. Without a built bundle it is a 500 that says how to build it.
 */
export function dashboardAsset(path: string): DashboardAnswer | undefined {
  if (path === '/dashboard') {
    for (const { file } of ASSETS.values()) {
      if (bundled(file) === undefined) return missingBundle(file);
    }
    return {
      status: 200,
      headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' },
      body: PAGE,
    };
  }
  const asset = ASSETS.get(path);
  if (asset === undefined) return undefined;
  const body = bundled(asset.file);
  if (body === undefined) return missingBundle(asset.file);
  return { status: 200, headers: { ...SECURITY_HEADERS, 'Content-Type': asset.type }, body };
}
