import type { Chunk, SseOptions, StreamContext } from '@sse-middleware/core';
import { onTestFinished } from 'vitest';
import type { ConformanceHarness, ConformanceServer, FixtureOptions } from '../harness.js';

/** Starts the adapter's server for the current test and stops it when the test finishes. */
export async function serve(
  harness: ConformanceHarness,
  options: SseOptions,
  fixture?: FixtureOptions,
): Promise<ConformanceServer> {
  const server = await harness.start(options, fixture);
  onTestFinished(() => server.close());
  return server;
}

/** Records what reaches `onError`, and keeps the test output free of expected error logs. */
export function errorRecorder() {
  const errors: unknown[] = [];
  return { errors, onError: (error: unknown) => errors.push(error) };
}

/** A promise with its resolver, for "this happened" signals from inside a generator. */
export function signalled<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const watched = new WeakMap<AbortSignal, true>();

/** Runs `callback` once when the stream's context aborts, however often a generator calls this. */
export function onStreamEnd(ctx: StreamContext, callback: () => void): void {
  if (watched.has(ctx.signal)) return;
  watched.set(ctx.signal, true);
  ctx.signal.addEventListener('abort', callback, { once: true });
}

/** A generator that sends one event every `ms`, and stops waiting as soon as its client leaves. */
export const tickEvery =
  (ms: number) =>
  (_req: unknown, ctx: StreamContext): Promise<Chunk> =>
    new Promise((resolve) => {
      const stop = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
      const timer = setTimeout(() => {
        ctx.signal.removeEventListener('abort', stop);
        resolve({ data: 'tick' });
      }, ms);
      ctx.signal.addEventListener('abort', stop, { once: true });
    });
