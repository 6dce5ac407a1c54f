import { anyOf, type Chunk, type StreamContext, uriMatch } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { openStream, sleep } from '../http-client.js';
import { serve } from './context.js';

const EVENT_DATA = 'x'.repeat(16 * 1024);

export function backpressureTests(harness: ConformanceHarness) {
  it('stops producing for a client that stops reading, and other clients keep their rate', async () => {
    let produced = 0;
    async function* flood(ctx: StreamContext): AsyncGenerator<Chunk> {
      while (!ctx.signal.aborted) {
        produced += 1;
        yield { data: EVENT_DATA };
      }
    }
    async function* ticks(ctx: StreamContext): AsyncGenerator<Chunk> {
      for (let n = 1; !ctx.signal.aborted; n += 1) {
        yield { data: `tick ${n}` };
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const server = await serve(harness, {
      requestMatcher: anyOf(uriMatch('/flood'), uriMatch('/tick')),
      source: (req, ctx) => (req.path === '/flood' ? flood(ctx) : ticks(ctx)),
    });

    const slow = await openStream(`${server.url}/flood`);
    slow.pause();
    const fast = await openStream(`${server.url}/tick`);
    await sleep(1500);
    const producedAfterFill = produced;
    const fastEventsBefore = fast.events.length;
    await sleep(1000);

    // With backpressure honoured the generator waits once the socket buffers are full.
    expect(produced - producedAfterFill).toBeLessThanOrEqual(1);
    expect(produced * EVENT_DATA.length).toBeLessThan(64 * 1024 * 1024);
    // The paused client does not slow the other one (20 ticks a second; allow a noisy machine).
    expect(fast.events.length - fastEventsBefore).toBeGreaterThanOrEqual(5);

    slow.resume();
    await slow.waitForEvents(producedAfterFill, 10_000);
    slow.destroy();
    fast.destroy();
  });
}
