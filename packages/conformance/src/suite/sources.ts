import { anyOf, type Chunk, type StreamContext, uriMatch } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { openStream } from '../http-client.js';
import { serve, signalled } from './context.js';

export function sourceTests(harness: ConformanceHarness) {
  it('streams an async iterable source in order and ends the response when it ends', async () => {
    const server = await serve(harness, {
      source: async function* () {
        for (let i = 1; i <= 3; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          yield { id: String(i), event: 'step', data: `step ${i}` };
        }
      },
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.ended;
    expect(stream.events.map((e) => [e.id, e.event, e.data])).toEqual([
      ['1', 'step', 'step 1'],
      ['2', 'step', 'step 2'],
      ['3', 'step', 'step 3'],
    ]);
  });

  it("calls the source iterator's return() when the client disconnects", async () => {
    const cleanedUp = signalled<string>();
    async function* ticks(ctx: StreamContext): AsyncGenerator<Chunk> {
      try {
        let n = 0;
        while (!ctx.signal.aborted) {
          n += 1;
          yield { data: `tick ${n}` };
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        cleanedUp.resolve('finally ran');
      }
    }
    const server = await serve(harness, {
      requestMatcher: anyOf(uriMatch('/ticks')),
      source: (_req, ctx) => ticks(ctx),
    });
    const stream = await openStream(`${server.url}/ticks`);
    await stream.waitForEvents(2);
    stream.destroy();
    await expect(cleanedUp.promise).resolves.toBe('finally ran');
  });
}
