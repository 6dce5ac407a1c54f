import type { SseRequest } from '../adapter-kit/request.js';
import { ABORTED, createAbortRace } from '../util/abort.js';
import { createYieldBudget } from '../util/schedule.js';
import { describeValue } from '../util/validate.js';
import { encodeChunk } from '../wire/encoder.js';
import type { Chunk, ChunkGenerator, StreamContext } from './chunk.js';
import type { StreamOutput } from './output.js';

type AbortRace = ReturnType<typeof createAbortRace>;

/** Sends a chunk; with the `wait` policy, returns what to await until the client can take more. */
function send(chunk: Chunk, output: StreamOutput, wait: boolean, race: AbortRace) {
  if (chunk === undefined || chunk === null) return undefined;
  output.send(encodeChunk(chunk));
  const writable = wait ? output.whenWritable() : undefined;
  return writable ? race(writable) : undefined;
}

/** Polls a chunk generator until the stream ends: never a call after the client left. */
export async function pumpGenerator(
  generate: ChunkGenerator,
  req: SseRequest,
  ctx: StreamContext,
  output: StreamOutput,
  wait: boolean,
): Promise<undefined> {
  const { signal } = ctx;
  const race = createAbortRace(signal);
  const budget = createYieldBudget();
  while (!signal.aborted) {
    let chunk = race(generate(req, ctx));
    if (chunk instanceof Promise) chunk = await chunk;
    if (chunk === ABORTED || signal.aborted) return undefined;
    const sent = send(chunk as Chunk, output, wait, race);
    if (sent) await sent;
    // A generator that never waits must not starve other connections of the event loop.
    const pause = budget.spend();
    if (pause) await pause;
  }
}

/** Iterates a source's (async) iterable until it ends or the stream does. */
export async function pumpIterable(
  iterable: unknown,
  signal: AbortSignal,
  output: StreamOutput,
  wait: boolean,
) {
  const iterator = iteratorOf(iterable);
  const race = createAbortRace(signal);
  const budget = createYieldBudget();
  let finished = false;
  try {
    while (!signal.aborted) {
      let step: IteratorResult<Chunk> | typeof ABORTED;
      try {
        const next = race(iterator.next());
        step = next instanceof Promise ? await next : next;
      } catch (error) {
        finished = true; // an iterator whose next() threw is already closed
        throw error;
      }
      if (step === ABORTED) return undefined;
      if (step.done) {
        finished = true;
        return 'end';
      }
      if (signal.aborted) return undefined;
      const sent = send(step.value, output, wait, race);
      if (sent) await sent;
      const pause = budget.spend();
      if (pause) await pause;
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
