import { isPromiseLike, raceAbort, yieldToEventLoop } from './abort.js';
import { isPushSubscription, PUSH_SOURCE, type PushSubscription } from './channel.js';
import type { Chunk, ChunkGenerator, ChunkSource, StreamContext } from './chunk.js';
import { encodeEvent, isSseEvent } from './encoder.js';
import type { StreamOutput } from './output.js';
import type { SseRequest } from './request.js';
import { describeValue } from './validate.js';

const textEncoder = new TextEncoder();

/** The bytes for one chunk: strings are SSE text plus the `\n` that ends the event; objects are encoded; bytes pass. */
export function encodeChunk(chunk: Exclude<Chunk, null | undefined>): Uint8Array {
  if (typeof chunk === 'string') return textEncoder.encode(`${chunk}\n`);
  if (chunk instanceof Uint8Array) return chunk;
  if (isSseEvent(chunk)) return textEncoder.encode(encodeEvent(chunk));
  throw new TypeError(
    `A chunk must be a string, an SSE event object, a Uint8Array or undefined, received ${describeValue(chunk)}`,
  );
}

/** Sends a chunk; with the `wait` policy, also waits until the client can take more. */
async function send(chunk: Chunk, output: StreamOutput, wait: boolean, signal: AbortSignal) {
  if (chunk === undefined || chunk === null) return;
  output.send(encodeChunk(chunk));
  const writable = wait ? output.whenWritable() : undefined;
  if (writable) await raceAbort(writable, signal);
}

/** Polls a chunk generator until the stream ends: never a call after the client left. */
export async function pumpGenerator(
  generate: ChunkGenerator,
  req: SseRequest,
  ctx: StreamContext,
  output: StreamOutput,
  wait: boolean,
) {
  const { signal } = ctx;
  while (!signal.aborted) {
    let chunk = generate(req, ctx);
    if (isPromiseLike<Chunk>(chunk)) {
      const settled = await raceAbort(chunk, signal);
      if (settled === raceAbort.ABORTED) return;
      chunk = settled;
    }
    if (signal.aborted) return;
    await send(chunk, output, wait, signal);
    // A generator that never waits must not starve other connections of the event loop.
    await yieldToEventLoop();
  }
}

/** Runs a source: a push subscription (channels) or an (async) iterable of chunks. */
export async function pumpSource(
  source: ChunkSource,
  req: SseRequest,
  ctx: StreamContext,
  output: StreamOutput,
  wait: boolean,
): Promise<'end' | undefined> {
  const produced: unknown = source(req, ctx);
  if (isPushSubscription(produced)) return pumpPush(produced, ctx.signal, output);
  return pumpIterable(produced, ctx.signal, output, wait);
}

async function pumpPush(subscription: PushSubscription, signal: AbortSignal, output: StreamOutput) {
  const subscribing = Promise.resolve(
    subscription[PUSH_SOURCE]({
      send: (bytes) => output.send(bytes),
      whenWritable: () => output.whenWritable(),
      signal,
      maxQueuedBytes: output.maxQueuedBytes,
      overflow: () => output.overflow(),
    }),
  );
  const unsubscribe = await raceAbort(subscribing, signal);
  if (unsubscribe === raceAbort.ABORTED) {
    subscribing.then(
      (stop) => stop(),
      () => {},
    );
    return undefined;
  }
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    unsubscribe();
  }
  return undefined;
}

async function pumpIterable(
  iterable: unknown,
  signal: AbortSignal,
  output: StreamOutput,
  wait: boolean,
) {
  const iterator = iteratorOf(iterable);
  let finished = false;
  try {
    while (!signal.aborted) {
      let step: IteratorResult<Chunk> | typeof raceAbort.ABORTED;
      try {
        step = await raceAbort(iterator.next(), signal);
      } catch (error) {
        finished = true; // an iterator whose next() threw is already closed
        throw error;
      }
      if (step === raceAbort.ABORTED) return undefined;
      if (step.done) {
        finished = true;
        return 'end';
      }
      if (signal.aborted) return undefined;
      await send(step.value, output, wait, signal);
      await yieldToEventLoop();
    }
    return undefined;
  } finally {
    if (!finished && typeof iterator.return === 'function') {
      // Not awaited: an async generator parked in an await finishes its return() only later.
      Promise.resolve(iterator.return()).catch(() => {});
    }
  }
}

function iteratorOf(iterable: unknown): AsyncIterator<Chunk> | Iterator<Chunk> {
  if (iterable !== null && typeof iterable === 'object') {
    const asyncIt = (iterable as AsyncIterable<Chunk>)[Symbol.asyncIterator];
    if (typeof asyncIt === 'function') return asyncIt.call(iterable);
    const syncIt = (iterable as Iterable<Chunk>)[Symbol.iterator];
    if (typeof syncIt === 'function') return syncIt.call(iterable);
  }
  throw new TypeError(
    `options.source must return an iterable or async iterable, returned ${describeValue(iterable)}`,
  );
}
