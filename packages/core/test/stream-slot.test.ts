import { describe, expect, it } from 'vitest';
import { createRequestView, createSseEngine } from '../src/adapter.js';
import { createChannel, type SseEngine } from '../src/index.js';
import { MemorySink } from './support/memory-sink.js';

function open(engine: SseEngine, user: string) {
  const req = createRequestView({ method: 'GET', url: '/events', headers: { 'x-user': user } });
  const sink = new MemorySink();
  return { sink, done: engine.serve(req, sink) };
}

describe('the slot a stream holds', () => {
  it('goes back once with its per-key count, however often the stream is stopped', async () => {
    const engine = createSseEngine({
      requestMatcher: () => true,
      heartbeat: 0,
      source: createChannel().source(),
      maxConnections: 2,
      limitPerKey: { key: (req) => req.headers.get('x-user') ?? undefined, max: 1 },
    });
    const first = open(engine, 'ada');
    expect(engine.connections.active).toBe(1);
    expect(open(engine, 'ada').sink.status).toBe(429);

    first.sink.disconnect();
    first.sink.disconnect();
    await engine.close({ timeout: 100 });
    await first.done;
    expect(engine.connections.active).toBe(0); // not -1: given back exactly once
  });

  it('frees exactly one per-key count when its stream ends', async () => {
    const engine = createSseEngine({
      requestMatcher: () => true,
      heartbeat: 0,
      source: createChannel().source(),
      limitPerKey: { key: (req) => req.headers.get('x-user') ?? undefined, max: 2 },
    });
    const streams = [open(engine, 'ada'), open(engine, 'ada')];
    streams[0]!.sink.disconnect();
    await streams[0]!.done;
    const again = open(engine, 'ada');
    expect(again.sink.status).toBe(200);
    expect(open(engine, 'ada').sink.status).toBe(429);
    expect(engine.connections.active).toBe(2);
    await engine.close({ timeout: 100 });
    expect(engine.connections.active).toBe(0);
  });
});
