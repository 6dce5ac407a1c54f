// Reads one event stream with @microsoft/fetch-event-source and prints what it dispatches, one
// JSON object a line: {"open": status}, then {"type", "data", "id", "retry"} per `onmessage`,
// {"end": true} when the server ends the response, or {"error": text}.
// Usage: node fetch-event-source-client.mjs URL [REQUEST_JSON]
// REQUEST_JSON, when given, is {"method", "headers", "body"}: a POST stream, as browser apps open one.
//
// The library is written for browsers: it calls `window.setTimeout`/`window.clearTimeout` and
// `document.removeEventListener` (and, without `openWhenHidden`, listens for `visibilitychange`).
// This process gives it exactly that: `window` is Node's global (its timers; `fetch` is passed in),
// `document` a never-hidden stub, and `openWhenHidden: true`. Running it in a child keeps those
// browser globals out of the test process, where other libraries would take them for a browser.
import { createRequire } from 'node:module';

globalThis.window = globalThis;
globalThis.document = { hidden: false, addEventListener() {}, removeEventListener() {} };

const { fetchEventSource } = createRequire(import.meta.url)('@microsoft/fetch-event-source');
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

const controller = new AbortController();
process.on('SIGTERM', () => {
  controller.abort();
  process.exit(0);
});

const request = process.argv[3] ? JSON.parse(process.argv[3]) : {};

fetchEventSource(process.argv[2], {
  ...request,
  fetch: globalThis.fetch,
  openWhenHidden: true,
  signal: controller.signal,
  async onopen(response) {
    say({ open: response.status });
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !type.startsWith('text/event-stream'))
      throw new Error(`unexpected response ${response.status} ${type}`);
  },
  onmessage(message) {
    say({
      type: message.event || 'message',
      data: message.data,
      id: message.id,
      retry: message.retry ?? null,
    });
  },
  onclose() {
    say({ end: true });
  },
  onerror(error) {
    say({ error: String(error instanceof Error ? error.message : error) });
    throw error; // no retry: the test reports the failure
  },
}).catch(() => {});
