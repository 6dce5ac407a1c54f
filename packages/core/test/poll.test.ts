import { describe, expect, it } from 'vitest';
import { pollHeaders, withPollSignal } from '../src/adapter.js';

describe('withPollSignal', () => {
  it('aborts the poll when the stream aborts during it, and then lets go of the stream signal', async () => {
    const stream = new AbortController();
    let seen: AbortSignal | undefined;
    const result = withPollSignal(stream.signal, (signal) => {
      seen = signal;
      return new Promise<string>((resolve) =>
        signal.addEventListener('abort', () => resolve('aborted')),
      );
    });
    expect(seen?.aborted).toBe(false);
    stream.abort();
    await expect(result).resolves.toBe('aborted');
  });

  it('gives every poll its own signal and leaves no listener on the stream signal', async () => {
    const stream = new AbortController();
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const add = stream.signal.addEventListener.bind(stream.signal);
    const remove = stream.signal.removeEventListener.bind(stream.signal);
    stream.signal.addEventListener = (type: string, listener: EventListener, opts?: unknown) => {
      added.push(listener);
      add(type, listener, opts as AddEventListenerOptions);
    };
    stream.signal.removeEventListener = (type: string, listener: EventListener) => {
      removed.push(listener);
      remove(type, listener);
    };
    const signals = new Set<AbortSignal>();
    for (let i = 0; i < 3; i += 1) {
      await withPollSignal(stream.signal, async (signal) => signals.add(signal));
    }
    await expect(
      withPollSignal(stream.signal, async () => {
        throw new Error('the poll failed');
      }),
    ).rejects.toThrow('the poll failed');
    expect(signals.size).toBe(3);
    expect(added).toHaveLength(4);
    expect(removed).toEqual(added);
  });

  it('starts aborted when the stream already is', async () => {
    const stream = new AbortController();
    stream.abort();
    await expect(withPollSignal(stream.signal, async (signal) => signal.aborted)).resolves.toBe(
      true,
    );
  });
});

describe('pollHeaders', () => {
  it('drops pseudo-headers, joins repeated ones and asks for an uncompressed body', () => {
    expect(
      pollHeaders({
        ':path': '/x',
        accept: 'text/event-stream',
        'x-many': ['a', 'b'],
        'x-none': undefined,
        'accept-encoding': 'gzip',
      }),
    ).toEqual({ accept: 'text/event-stream', 'x-many': 'a, b', 'accept-encoding': 'identity' });
    expect(pollHeaders(undefined)).toEqual({ 'accept-encoding': 'identity' });
  });
});
