/**
 * The live dashboard's script, bundled with uPlot by `pnpm build` (esbuild) into
 * `examples/kit/dist/dashboard.js` and `dashboard.css`, which `GET /dashboard` loads: it follows
 * `GET /app/metrics?stream=true` with an `EventSource` and plots the process's memory and event
 * loop, and shows the state of the connection and how often it came back.
 */
/*! Includes uPlot 1.6.32, MIT licence, Copyright (c) 2022 Leon Sorokin: https://github.com/leeoniya/uPlot */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';

const STREAM_URL = '/app/metrics?stream=true';
/** Five minutes of one event a second. */
const MAX_POINTS = 300;
/** Points further apart than this (s) are not joined: the stream was down in between. */
const GAP_SECONDS = 3;
const MIB = 1024 * 1024;

/** What the dashboard reads of `processMetrics()` (examples/kit/src/metrics.ts). */
interface Metrics {
  now: number;
  uptimeSeconds?: number;
  memory?: Partial<Record<'rss' | 'heapTotal' | 'heapUsed' | 'external' | 'arrayBuffers', number>>;
  eventLoop?: {
    delayMs?: Partial<Record<'mean' | 'p50' | 'p99' | 'max', number>>;
    utilization?: number;
  };
}

interface Line {
  label: string;
  color: string;
  pick: (metrics: Metrics) => number | undefined;
}

interface ChartSpec {
  id: string;
  unit: string;
  digits: number;
  lines: Line[];
  /** A fixed range for the y axis (the utilisation's 0 to 100 %); otherwise it follows the data. */
  range?: [number, number];
}

const mib = (value: number | undefined) => (value === undefined ? undefined : value / MIB);

const CHARTS: ChartSpec[] = [
  {
    id: 'memory',
    unit: 'MiB',
    digits: 1,
    lines: [
      { label: 'rss', color: '#2563eb', pick: (m) => mib(m.memory?.rss) },
      { label: 'heapTotal', color: '#7c3aed', pick: (m) => mib(m.memory?.heapTotal) },
      { label: 'heapUsed', color: '#db2777', pick: (m) => mib(m.memory?.heapUsed) },
      { label: 'external', color: '#ea580c', pick: (m) => mib(m.memory?.external) },
      { label: 'arrayBuffers', color: '#16a34a', pick: (m) => mib(m.memory?.arrayBuffers) },
    ],
  },
  {
    id: 'delay',
    unit: 'ms',
    digits: 2,
    lines: [
      { label: 'p50', color: '#0891b2', pick: (m) => m.eventLoop?.delayMs?.p50 },
      { label: 'p99', color: '#ca8a04', pick: (m) => m.eventLoop?.delayMs?.p99 },
      { label: 'max', color: '#dc2626', pick: (m) => m.eventLoop?.delayMs?.max },
    ],
  },
  {
    id: 'utilization',
    unit: '%',
    digits: 1,
    range: [0, 100],
    lines: [
      {
        label: 'utilisation',
        color: '#4f46e5',
        pick: (m) =>
          m.eventLoop?.utilization === undefined ? undefined : m.eventLoop.utilization * 100,
      },
    ],
  },
];

interface Chart {
  spec: ChartSpec;
  plot: uPlot;
  element: HTMLElement;
  xs: number[];
  ys: (number | null)[][];
}

const CHART_HEIGHT = 200;

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the dashboard page has no #${id}`);
  return element as T;
}

const format = (value: number | null | undefined, digits: number, unit: string) =>
  value === null || value === undefined ? '–' : `${value.toFixed(digits)} ${unit}`;

function createChart(spec: ChartSpec): Chart {
  const element = byId(`chart-${spec.id}`);
  const xs: number[] = [];
  const ys = spec.lines.map((): (number | null)[] => []);
  const options: uPlot.Options = {
    width: Math.max(element.clientWidth, 200),
    height: CHART_HEIGHT,
    scales: {
      x: { time: true },
      y: spec.range
        ? { range: spec.range }
        : { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1] },
    },
    series: [
      { value: '{HH}:{mm}:{ss}' },
      ...spec.lines.map((line) => ({
        label: line.label,
        stroke: line.color,
        width: 2,
        points: { show: false },
        value: (_u: uPlot, value: number | null) => format(value, spec.digits, spec.unit),
      })),
    ],
    axes: [
      {},
      {
        size: 64,
        values: (_u, ticks) => ticks.map((tick) => `${+tick.toFixed(spec.digits)} ${spec.unit}`),
      },
    ],
    cursor: { drag: { x: false, y: false } },
  };
  const plot = new uPlot(options, [xs, ...ys], element);
  return { spec, plot, element, xs, ys };
}

const charts = CHARTS.map(createChart);

function plot(metrics: Metrics): void {
  const x = metrics.now / 1000;
  for (const chart of charts) {
    const last = chart.xs.at(-1);
    if (last !== undefined && x - last > GAP_SECONDS) {
      // A break in the lines where the stream was down.
      chart.xs.push(last + 1);
      for (const column of chart.ys) column.push(null);
    }
    chart.xs.push(x);
    chart.spec.lines.forEach((line, i) => {
      const value = line.pick(metrics);
      chart.ys[i]!.push(value === undefined || !Number.isFinite(value) ? null : value);
    });
    const excess = chart.xs.length - MAX_POINTS;
    if (excess > 0) {
      chart.xs.splice(0, excess);
      for (const column of chart.ys) column.splice(0, excess);
    }
    chart.plot.setData([chart.xs, ...chart.ys]);
    // The legend shows the latest values unless the pointer is on the chart.
    if ((chart.plot.cursor.left ?? -1) < 0) chart.plot.setLegend({ idx: chart.xs.length - 1 });
  }
}

let resizing = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(resizing);
  resizing = requestAnimationFrame(() => {
    for (const chart of charts) {
      chart.plot.setSize({ width: Math.max(chart.element.clientWidth, 200), height: CHART_HEIGHT });
    }
  });
});

// The connection: green while the EventSource is open; amber while it (re)connects after a drop;
// red once a reconnection attempt has failed too (the server is unreachable) or the browser gave
// up (the stream answered other than 200 text/event-stream, a 503 at the connection limit), when
// the page opens a new EventSource itself, later and later.

type ConnectionState = 'connecting' | 'connected' | 'disconnected';

const indicator = byId('connection');
const indicatorLabel = byId('connection-label');
const reconnectsText = byId('reconnects');
const lastReconnectText = byId('last-reconnect');
const lastEventText = byId('last-event');
const uptimeText = byId('uptime');
const noteText = byId('note');

let source: EventSource | undefined;
let state: ConnectionState = 'connecting';
const history: { state: ConnectionState; at: number }[] = [];
let opened = false;
let reconnects = 0;
let lastReconnectAt: number | undefined;
/** EventSource errors since the connection was last open. */
let failures = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let retryAt: number | undefined;
let events = 0;
let lastEventAt: number | undefined;
let uptimeSeconds: number | undefined;
let note = '';

const clock = (at: number) => new Date(at).toLocaleTimeString([], { hour12: false });

function ago(at: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - at) / 1000));
  return seconds < 2 ? 'just now' : `${seconds} s ago`;
}

function duration(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

function labelOf(current: ConnectionState): string {
  if (current === 'connected') return 'connected';
  if (current === 'connecting') return opened ? 'reconnecting…' : 'connecting…';
  if (retryAt !== undefined) {
    return `disconnected: retrying in ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s`;
  }
  return 'disconnected: retrying';
}

function render(): void {
  indicator.dataset.state = state;
  indicatorLabel.textContent = labelOf(state);
  reconnectsText.textContent = String(reconnects);
  lastReconnectText.textContent =
    lastReconnectAt === undefined ? 'never' : `${clock(lastReconnectAt)} (${ago(lastReconnectAt)})`;
  lastEventText.textContent = lastEventAt === undefined ? 'none yet' : ago(lastEventAt);
  uptimeText.textContent = uptimeSeconds === undefined ? '–' : duration(uptimeSeconds);
  noteText.textContent = note;
}

function setState(next: ConnectionState): void {
  if (next !== state || history.length === 0) history.push({ state: next, at: Date.now() });
  state = next;
  render();
}

function connect(): void {
  retryTimer = undefined;
  retryAt = undefined;
  const stream = new EventSource(STREAM_URL);
  source = stream;
  stream.addEventListener('open', () => {
    if (opened) {
      reconnects += 1;
      lastReconnectAt = Date.now();
    }
    opened = true;
    failures = 0;
    note = '';
    setState('connected');
  });
  stream.addEventListener('message', (event) => {
    let metrics: Metrics;
    try {
      metrics = JSON.parse(event.data) as Metrics;
    } catch {
      note = 'an event that is not JSON was skipped';
      render();
      return;
    }
    if (typeof metrics?.now !== 'number') return;
    events += 1;
    lastEventAt = Date.now();
    uptimeSeconds = metrics.uptimeSeconds;
    plot(metrics);
    render();
  });
  // The last event of a server that shuts down gracefully; its `retry:` says when to come back.
  stream.addEventListener('shutdown', () => {
    note = `the server shut down at ${clock(Date.now())}: waiting for it to come back`;
    render();
  });
  stream.addEventListener('error', (event) => {
    if (event instanceof MessageEvent) {
      // The server's own `event: error`: the stream failed on its side, and ends.
      note = `the server ended the stream with an error: ${String(event.data)}`;
      render();
      return;
    }
    failures += 1;
    if (stream.readyState === EventSource.CLOSED) {
      // The browser gave up on this EventSource: open another, later and later.
      stream.close();
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
      retryAt = Date.now() + delay;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, delay);
      setState('disconnected');
      return;
    }
    setState(failures > 1 ? 'disconnected' : 'connecting');
  });
  setState(stream.readyState === EventSource.OPEN ? 'connected' : 'connecting');
}

/** What a test (or you, in the console) can read of the page: `window.__dashboard.snapshot()`. */
export interface DashboardSnapshot {
  state: ConnectionState;
  readyState: number | undefined;
  reconnects: number;
  lastReconnectAt: number | undefined;
  events: number;
  history: { state: ConnectionState; at: number }[];
  charts: Record<
    string,
    { points: number; latest: { x: number; values: Record<string, number | null> } | undefined }
  >;
}

declare global {
  interface Window {
    __dashboard: { snapshot(): DashboardSnapshot };
  }
}

window.__dashboard = {
  snapshot: () => ({
    state,
    readyState: source?.readyState,
    reconnects,
    lastReconnectAt,
    events,
    history: history.slice(),
    charts: Object.fromEntries(
      charts.map((chart) => {
        const [xs, ...ys] = chart.plot.data as [number[], ...(number | null | undefined)[][]];
        const last = xs.length - 1;
        const latest =
          last < 0
            ? undefined
            : {
                x: xs[last]!,
                values: Object.fromEntries(
                  chart.spec.lines.map((line, i) => [line.label, ys[i]?.[last] ?? null]),
                ),
              };
        return [chart.spec.id, { points: xs.length, latest }];
      }),
    ),
  }),
};

setInterval(render, 1000);
connect();
