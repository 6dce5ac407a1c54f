import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import type { ConformanceServer } from './harness.js';
import { afterHeadComment, fetchRaw, openStream, type RawStream, sleep } from './http-client.js';

export interface HostileContext {
  /** Starts the example in this process (`buildApp()`), closed when the test ends. */
  serve(): Promise<ConformanceServer>;
  /** Starts the example's `src/main.ts` as its own process and resolves with its URL. */
  spawnMain(): Promise<{ url: string; child: ChildProcess }>;
  /** POSTs a body to /publish and returns the status and the parsed JSON answer. */
  postPublish(
    url: string,
    body: string,
    contentType: string,
  ): Promise<{ status: number; body: unknown }>;
}

/** An id the example's in-memory channel issues: `<epoch>.<n>`. */
export const MEMORY_ID = /^[0-9a-z]{8}\.\d+$/;

/** Writes raw bytes on a fresh connection, waits `ms`, then cuts the connection. */
async function sendRaw(url: string, bytes: string, ms = 100): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, ms);
  });
}

const openEvents = async (url: string, headers: Record<string, string> = {}) => {
  const stream = await openStream(`${url}/events`, { headers });
  await stream.waitForText((text) => afterHeadComment(text).startsWith('retry:'));
  return stream;
};

/**
 * What a hostile or unlucky client sends an example: bodies cut short, broken framing, data no
 * serializer can write, the library's own event names, ids from another run of the server.
 * None of it takes the server down, publishes anything, or reaches another client's stream.
 */
export function hostileClientTests(context: HostileContext): void {
  const { serve, spawnMain, postPublish } = context;

  it('survives a body cut short, broken framing, unserialisable data and forged control events, publishing none of them', async () => {
    const { url, child } = await spawnMain();
    const stream = await openEvents(url);
    // A client that announces 100 bytes, sends 3, and leaves.
    await sendRaw(url, 'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    // A framing error after the headers.
    await sendRaw(
      url,
      'POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nforge\r\n0\r\n\r\n',
    );
    await sleep(200);
    expect(
      child.exitCode,
      'the example process survives the cut body and the broken framing',
    ).toBeNull();
    const deep = `{"data":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    const tooDeep = await postPublish(url, deep, 'application/json');
    expect(tooDeep.status).toBe(400);
    expect(JSON.stringify(tooDeep.body)).toMatch(/serializer cannot turn the data into text/);
    for (const event of ['shutdown', 'replay-gap', 'error']) {
      const forged = await postPublish(
        url,
        JSON.stringify({ event, data: 'x' }),
        'application/json',
      );
      expect(forged.status, `publishing "${event}"`).toBe(400);
      expect(JSON.stringify(forged.body)).toMatch(/an event the library sends itself/);
    }
    expect(child.exitCode, 'the example process is still running').toBeNull();
    const after = await postPublish(url, 'after the attacks', 'text/plain');
    expect(after.status).toBe(202);
    const [only] = await stream.waitForEvents(1);
    await sleep(100);
    expect(stream.events.map((e) => [e.id, e.event ?? 'message', e.data])).toEqual([
      [(after.body as { id: string }).id, 'message', 'after the attacks'],
    ]);
    expect(only?.id).toMatch(MEMORY_ID);
    expect((await fetchRaw(`${url}/`)).status).toBe(200);
    stream.destroy();
  });

  it('answers a Last-Event-ID from a previous run of the server with replay-gap (unknown-epoch), then what this run has', async () => {
    const first = await serve();
    const old = await postPublish(first.url, 'from the first run', 'text/plain');
    await first.close();
    const second = await serve();
    const fresh = await postPublish(second.url, 'from the second run', 'text/plain');
    const resumed = await openStream(`${second.url}/events`, {
      headers: { 'Last-Event-ID': (old.body as { id: string }).id },
    });
    const [gap, event] = await resumed.waitForEvents(2);
    expect(gap?.event).toBe('replay-gap');
    expect(JSON.parse(gap!.data)).toEqual({
      lastEventId: (old.body as { id: string }).id,
      oldestRetainedId: (fresh.body as { id: string }).id,
      reason: 'unknown-epoch',
    });
    expect([event?.id, event?.data]).toEqual([
      (fresh.body as { id: string }).id,
      'from the second run',
    ]);
    resumed.destroy();
  });

  it('echoes at most 128 characters of a long Last-Event-ID in replay-gap', async () => {
    const { url } = await serve();
    const long = 'x'.repeat(8000);
    let resumed: RawStream | undefined;
    try {
      resumed = await openStream(`${url}/events`, { headers: { 'Last-Event-ID': long } });
      const [gap] = await resumed.waitForEvents(1);
      expect(gap?.event).toBe('replay-gap');
      const data = JSON.parse(gap!.data);
      expect(data).toMatchObject({ lastEventId: long.slice(0, 128), truncated: true });
      expect(gap!.data.length).toBeLessThan(400);
    } finally {
      resumed?.destroy();
    }
  });
}

/** Starts `main` as `pnpm start` would, on a free port, killed when the test ends. */
export async function spawnExampleMain(
  main: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: dirname(dirname(main)),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { url: await announcedUrl(child), child };
}

function announcedUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`example did not announce its URL in 15 s; output: ${output}`)),
      15_000,
    );
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`example exited with ${code} before listening; output: ${output}`));
    });
  });
}
