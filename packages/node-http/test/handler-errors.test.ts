import type { IncomingMessage, ServerResponse } from 'node:http';
import { fetchRaw, listenNode, openStream } from '@sse-middleware/conformance';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type NodeListener, sseMiddleware } from '../src/index.js';

/** Serves `listener` for this test on 127.0.0.1, port 0. */
async function start(listener: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = await listenNode(listener);
  onTestFinished(() => server.close());
  return server.url;
}

/** The wrapped handler, failing as told; `onError` records what reaches it. */
function failing(handler: NodeListener<IncomingMessage, ServerResponse>) {
  const errors: unknown[] = [];
  const listener = sseMiddleware(handler, { onError: (error) => errors.push(error) });
  return { listener, errors };
}

// Vitest fails the run on an unhandled rejection: each case below crashed the process before.
describe('a wrapped handler that fails, for a request that is not streamed (as Express 5 treats one)', () => {
  it('that rejects before answering: reported to onError, and the client gets a 500', async () => {
    const { listener, errors } = failing(async () => {
      throw new Error('rejected');
    });
    const res = await fetchRaw(`${await start(listener)}/`);
    expect(res.status).toBe(500);
    expect(res.body).toBe('Internal Server Error');
    expect(errors).toEqual([new Error('rejected')]);
  });

  it('that throws synchronously: reported to onError, and the client gets a 500', async () => {
    const { listener, errors } = failing(() => {
      throw new Error('thrown');
    });
    const res = await fetchRaw(`${await start(listener)}/`);
    expect(res.status).toBe(500);
    expect(errors).toEqual([new Error('thrown')]);
  });

  it('that rejects after sending its head: reported, and the response is cut off', async () => {
    const { listener, errors } = failing(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100' });
      res.write('partial');
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('late');
    });
    await expect(fetchRaw(`${await start(listener)}/`)).rejects.toThrow();
    expect(errors).toEqual([new Error('late')]);
  });

  it('used as Connect/Express middleware: the error goes to next(error), as Express expects', async () => {
    const { listener, errors } = failing(async () => {
      throw new Error('for next');
    });
    const passed: unknown[] = [];
    const url = await start((req, res) =>
      listener(req, res, (error) => {
        passed.push(error);
        res.writeHead(502).end('from the error handler');
      }),
    );
    const res = await fetchRaw(`${url}/`);
    expect([res.status, res.body]).toEqual([502, 'from the error handler']);
    expect(passed).toEqual([new Error('for next')]);
    expect(errors).toEqual([]);
  });

  it('keeps serving after a failure', async () => {
    let calls = 0;
    const { listener } = failing((_req, res) => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error('first'));
      res.end('second');
    });
    const url = await start(listener);
    expect((await fetchRaw(`${url}/`)).status).toBe(500);
    expect((await fetchRaw(`${url}/`)).body).toBe('second');
  });

  it('that rejects when the default generator polls it: reported, and the stream ends with an error event', async () => {
    const { listener, errors } = failing(async () => {
      throw new Error('poll failure');
    });
    const stream = await openStream(`${await start(listener)}/?stream=true`);
    const [event] = await stream.waitForEvents(1, 3000);
    expect(event?.event).toBe('error');
    await stream.ended;
    expect(errors[0]).toEqual(new Error('poll failure'));
  });
});
