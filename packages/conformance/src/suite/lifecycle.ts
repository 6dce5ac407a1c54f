import { type Chunk, wrapDelay } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { afterHeadComment, openStream, sleep } from '../http-client.js';
import { errorRecorder, onStreamEnd, serve, signalled } from './context.js';

export function lifecycleTests(harness: ConformanceHarness) {
  it('calls the generator no more once the client has disconnected', async () => {
    let calls = 0;
    const aborted = signalled();
    const server = await serve(harness, {
      chunkGenerator: wrapDelay((_req, ctx) => {
        calls += 1;
        onStreamEnd(ctx, () => aborted.resolve());
        return { data: String(calls) };
      }, 40),
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.waitForEvents(3);
    stream.destroy();
    await aborted.promise;
    const callsAtAbort = calls;
    await sleep(300);
    expect(calls).toBe(callsAtAbort);
  });

  it('ends with an `event: error` when the generator throws, reports it once, and frees the slot', async () => {
    const { errors, onError } = errorRecorder();
    let calls = 0;
    const server = await serve(harness, {
      maxConnections: 1,
      onError,
      chunkGenerator: () => {
        calls += 1;
        if (calls === 2) throw new Error('boom');
        return { data: `tick ${calls}` };
      },
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.ended;
    expect(afterHeadComment(stream.text)).toBe(
      'data: tick 1\n\nevent: error\ndata: Error - (Error) boom\n\n',
    );
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('boom');
    const next = await openStream(`${server.url}/?stream=true`);
    expect(next.status).toBe(200);
    next.destroy();
  });

  it('treats a rejected promise like a throw, and sends no error event when errorEvent is null', async () => {
    const { errors, onError } = errorRecorder();
    const server = await serve(harness, {
      onError,
      errorEvent: null,
      chunkGenerator: async () => {
        throw new TypeError('bad tick');
      },
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.ended;
    expect(afterHeadComment(stream.text)).toBe('');
    expect((errors[0] as Error).name).toBe('TypeError');
  });

  it('skips a tick when the generator returns nothing', async () => {
    let calls = 0;
    const server = await serve(harness, {
      chunkGenerator: wrapDelay((): Chunk => {
        calls += 1;
        return calls % 2 === 0 ? { data: `even ${calls}` } : undefined;
      }, 10),
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    const events = await stream.waitForEvents(3);
    expect(events.slice(0, 3).map((e) => e.data)).toEqual(['even 2', 'even 4', 'even 6']);
    stream.destroy();
  });

  it('writes strings as pre-formatted SSE chunks, like the original', async () => {
    const server = await serve(harness, {
      source: () => ['event: tick\ndata: 1\n', ': a comment\n', 'data: two\n'],
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.ended;
    expect(afterHeadComment(stream.text)).toBe(
      'event: tick\ndata: 1\n\n: a comment\n\ndata: two\n\n',
    );
    expect(stream.events.map((e) => [e.event, e.data])).toEqual([
      ['tick', '1'],
      [undefined, 'two'],
    ]);
  });
}
