import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventSource as ExtendedEventSource } from 'extended-eventsource';
import { type ReceivedEvent, waitForCount } from './types.js';

/**
 * Where a lenient client departs from the WHATWG parser. These clients are not spec-exact, so the
 * suite does not run the spec corpus through them; it holds the server to a wire they all read
 * alike. Every flag is listed here, set on the drivers it applies to, and asserted where a test
 * depends on it.
 */
export interface LenientDeviations {
  /**
   * Spec: a blank line ending a block whose data buffer is empty dispatches nothing. These
   * clients dispatch an empty `message` event for it (so `:\n\n` heartbeats and `retry:`-only
   * blocks become events the application never sent). fetch-event-source: every blank line.
   * extended-eventsource: every blank line after the first field of the stream. httpx-sse: every
   * blank line once the block set `event`, `data` or `retry`, or once any `id:` was seen on the
   * stream (it never clears the last event id).
   */
  dispatchesEmptyBlocks: true;
  /**
   * Spec: `MessageEvent.lastEventId` is the last event id, kept across events without an `id:`.
   * fetch-event-source reports each message's own `id:` field, `''` when it has none (it keeps the
   * last id only for its reconnect header).
   */
  ownIdOnly?: true;
  /** Spec: `data:` then `data: x` gives `"\nx"`. These give `"x"` (an empty first data line is lost). */
  dropsEmptyFirstDataLine?: true;
  /**
   * Spec: a line without a colon is a field with an empty value (`data` adds an empty line, `id`
   * resets the last event id). fetch-event-source ignores such lines.
   */
  ignoresFieldWithoutColon?: true;
  /** Spec: a `retry:` value that is not all ASCII digits is ignored. These parse it leniently (`parseInt`, `int()`). */
  parsesRetryLeniently?: true;
  /** Spec: an `id:` value containing U+0000 is ignored. These take it. */
  takesNulInId?: true;
  /**
   * Spec: a CRLF is one line ending. extended-eventsource reads a CR that ends one network chunk
   * and the LF that starts the next as two line endings (an extra blank line: an empty event).
   */
  splitsCrlfAcrossChunks?: true;
  /**
   * Spec: a leading U+FEFF (byte order mark) is dropped. httpx-sse decodes the body as plain UTF-8
   * and keeps it, so the stream's first field name starts with U+FEFF and is ignored.
   */
  keepsByteOrderMark?: true;
  /**
   * Spec: an EventSource reconnects when the response ends and fails the connection on a non-200
   * status. fetch-event-source stops when the response ends (unless `onclose` throws) and retries
   * a 204 or 503 as an error, forever unless `onerror` throws; httpx-sse makes one request and
   * never reconnects. (extended-eventsource reconnects and fails like the spec.)
   */
  noEventSourceReconnection?: true;
}

/** A live connection of a lenient client, recording every event it dispatches. */
/** A stream opened by a request other than a plain GET (fetch-event-source only). */
export interface StreamRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LenientConnection {
  events(): Promise<ReceivedEvent[]>;
  waitForEvents(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  close(): Promise<void>;
}

/** A lenient SSE client: one that reads most streams fine but is not spec-exact. */
export interface LenientClientDriver {
  readonly name: string;
  readonly deviations: LenientDeviations;
  /**
   * Opens the stream and resolves once the response head arrived; records events of `types`
   * (the child-process clients report every type).
   */
  open(url: string, types?: readonly string[], request?: StreamRequest): Promise<LenientConnection>;
  dispose(): Promise<void>;
}

const OPEN_TIMEOUT_MS = 10_000;
const CHILDREN = new URL('./children/', import.meta.url);
/** Where scripts/ensure-python-deps.mjs installs httpx and httpx-sse (pip --target). */
const PYTHON_DEPS_DIR = fileURLToPath(new URL('../../../../.tmp/python', import.meta.url));
const PYTHON = process.env.PYTHON ?? 'python3';
const INSTALL_PYTHON_DEPS =
  'Install them with `node scripts/ensure-python-deps.mjs` from the repository root (pnpm test does; it runs ' +
  `\`${PYTHON} -m pip install --target .tmp/python httpx==0.28.1 httpx-sse==0.4.3\`).`;

interface ChildMessage {
  open?: number;
  end?: true;
  error?: string;
  type?: string;
  data?: string;
  id?: string;
}

/** A client run as a child process that prints one JSON object a line (see children/). */
function childDriver(
  name: string,
  deviations: LenientDeviations,
  command: () => { file: string; args: string[]; env?: NodeJS.ProcessEnv },
  explainExit: (code: number | null, stderr: string) => string | undefined,
): LenientClientDriver {
  const children = new Set<ChildProcess>();
  return {
    name,
    deviations,
    open(url, _types, request) {
      const { file, args, env } = command();
      const extra = request === undefined ? [] : [JSON.stringify(request)];
      const child = spawn(file, [...args, url, ...extra], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      const received: ReceivedEvent[] = [];
      const problems: string[] = [];
      let stderr = '';
      let pending = '';
      const read = async () => {
        if (problems.length > 0) throw new Error(`${name}: ${problems.join('; ')}`);
        return [...received];
      };
      const connection: LenientConnection = {
        events: read,
        waitForEvents: (count, timeoutMs = 8000) => waitForCount(read, count, timeoutMs, name),
        close: async () => {
          children.delete(child);
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await exited;
          }
        },
      };
      return new Promise<LenientConnection>((resolve, reject) => {
        let opened = false;
        const timer = setTimeout(() => {
          void connection.close();
          reject(
            new Error(`${name}: no response head after ${OPEN_TIMEOUT_MS} ms; stderr: ${stderr}`),
          );
        }, OPEN_TIMEOUT_MS);
        child.stderr!.setEncoding('utf8').on('data', (text: string) => {
          stderr += text;
        });
        child.stdout!.setEncoding('utf8').on('data', (text: string) => {
          pending += text;
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const message = JSON.parse(pending.slice(0, newline)) as ChildMessage;
            pending = pending.slice(newline + 1);
            newline = pending.indexOf('\n');
            if (message.open !== undefined) {
              opened = true;
              clearTimeout(timer);
              resolve(connection);
            } else if (message.error !== undefined) {
              problems.push(message.error);
            } else if (message.type !== undefined) {
              received.push({
                type: message.type,
                data: message.data ?? '',
                lastEventId: message.id ?? '',
              });
            }
          }
        });
        child.on('error', (error) => {
          clearTimeout(timer);
          children.delete(child);
          reject(
            new Error(
              `${name}: cannot run ${file} (${error.message}). ${explainExit(null, '') ?? ''}`,
            ),
          );
        });
        child.on('exit', (code) => {
          children.delete(child);
          if (opened) return;
          clearTimeout(timer);
          reject(
            new Error(
              `${name}: exited with code ${code} before the response head. ${explainExit(code, stderr) ?? ''} stderr: ${stderr}`,
            ),
          );
        });
      });
    },
    async dispose() {
      for (const child of children) child.kill('SIGTERM');
      children.clear();
    },
  };
}

/**
 * `@microsoft/fetch-event-source` 2.0.1, over Node's fetch, in a child Node process that gives it
 * the two browser globals it touches (see children/fetch-event-source-client.mjs). Not in the
 * suite's Chromium: its ESM build imports `./parse` without an extension, so a page would need a
 * bundler, and Chromium's fetch would add nothing to what is tested here (its parser).
 */
export const fetchEventSourceDriver = (): LenientClientDriver =>
  childDriver(
    '@microsoft/fetch-event-source',
    {
      dispatchesEmptyBlocks: true,
      ownIdOnly: true,
      dropsEmptyFirstDataLine: true,
      ignoresFieldWithoutColon: true,
      parsesRetryLeniently: true,
      takesNulInId: true,
      noEventSourceReconnection: true,
    },
    () => ({
      file: process.execPath,
      args: [fileURLToPath(new URL('fetch-event-source-client.mjs', CHILDREN))],
    }),
    () => undefined,
  );

/** httpx-sse 0.4.3 over httpx 0.28.1 (Python), in a child `python3` (see children/httpx_sse_client.py). */
export const httpxSseDriver = (): LenientClientDriver =>
  childDriver(
    'httpx-sse',
    {
      dispatchesEmptyBlocks: true,
      parsesRetryLeniently: true,
      keepsByteOrderMark: true,
      noEventSourceReconnection: true,
    },
    () => ({
      file: PYTHON,
      args: [fileURLToPath(new URL('httpx_sse_client.py', CHILDREN))],
      env: {
        PYTHONPATH: [PYTHON_DEPS_DIR, process.env.PYTHONPATH].filter(Boolean).join(':'),
        PYTHONDONTWRITEBYTECODE: '1',
      },
    }),
    (code, stderr) => {
      if (code === null)
        return `Python 3 is missing (set PYTHON to its path; Debian: apt-get install -y python3 python3-pip), and the tests need httpx and httpx-sse for it. ${INSTALL_PYTHON_DEPS}`;
      const missing = /MISSING (\S+)/.exec(stderr);
      if (code === 3 && missing) {
        return `The Python module ${missing[1]} is missing (looked in ${PYTHON_DEPS_DIR}${existsSync(PYTHON_DEPS_DIR) ? '' : ', which does not exist'} and ${PYTHON}'s own paths). ${INSTALL_PYTHON_DEPS}`;
      }
      return undefined;
    },
  );

/** extended-eventsource 2.1.0, an EventSource over fetch, in the test process. */
export const extendedEventSourceDriver = (): LenientClientDriver => ({
  name: 'extended-eventsource',
  deviations: {
    dispatchesEmptyBlocks: true,
    dropsEmptyFirstDataLine: true,
    parsesRetryLeniently: true,
    takesNulInId: true,
    splitsCrlfAcrossChunks: true,
  },
  open(url, types = ['message']) {
    const source = new ExtendedEventSource(url, { disableLogger: true });
    const received: ReceivedEvent[] = [];
    for (const type of types) {
      source.addEventListener(type, (event: MessageEvent) => {
        received.push({ type, data: String(event.data), lastEventId: event.lastEventId });
      });
    }
    const read = async () => [...received];
    const connection: LenientConnection = {
      events: read,
      waitForEvents: (count, timeoutMs = 8000) =>
        waitForCount(read, count, timeoutMs, 'extended-eventsource'),
      close: async () => source.close(),
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        source.close();
        reject(new Error(`extended-eventsource: not open after ${OPEN_TIMEOUT_MS} ms`));
      }, OPEN_TIMEOUT_MS);
      source.addEventListener('open', () => {
        clearTimeout(timer);
        resolve(connection);
      });
      source.addEventListener('error', () => {
        if (source.readyState !== source.CLOSED) return; // reconnecting
        clearTimeout(timer);
        reject(new Error('extended-eventsource: the connection failed'));
      });
    });
  },
  dispose: async () => {},
});
