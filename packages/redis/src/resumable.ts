import type {
  ResumableEvent,
  ResumableOutcome,
  ResumablePage,
  ResumableStore,
} from '@sse-middleware/core';
import { invalid } from '@sse-middleware/core/adapter';
import type { Redis } from 'ioredis';
import {
  CONNECT_TIMEOUT_MS,
  closeConnection,
  openConnection,
  watchConnection,
} from './connection.js';
import type { RawEntry } from './entry.js';
import { asError, isReplyError, RedisUnavailableError } from './errors.js';
import { type RedisResumableStoreOptions, resolveResumableOptions } from './resumable-options.js';
import { APPEND, CREATE, FINISH, READ, RENEW, REQUEST_STOP } from './resumable-scripts.js';
import { runScript, type Script } from './script.js';
import { createSubscriber } from './subscriber.js';

/** A {@link ResumableStore} in Redis: any process resumes, follows and stops any stream. */
export interface RedisResumableStore extends ResumableStore {
  /**
   * Closes the connections the store opened (a `client` you passed stays open) and resolves once
   * they are gone. Idempotent.
   */
  close(): Promise<void>;
}

/** How long after a stream's expiry its watchers are told, so that their read finds it gone. */
const EXPIRY_SLACK_MS = 20;
const MAX_TTL_MS = 2 ** 31 - 1;

/**
 * Resumable streams kept in Redis, for `createResumableStreams({ store })` on several processes: a
 * stream produced on one process is resumed, followed and stopped from any other. Its events are
 * a Redis stream, its end and its stop a hash next to it, both expiring `ttl` after the start;
 * appends, ends and stop requests are published, so followers on every process get them at once.
 *
 * ```ts context=redis-url
 * import { createResumableStreams } from '@sse-middleware/core';
 * import { createRedisResumableStore } from '@sse-middleware/redis';
 *
 * const store = createRedisResumableStore({ url });
 * const chats = createResumableStreams({ store });
 * // on shutdown:
 * await chats.close();
 * await store.close();
 * ```
 */
export function createRedisResumableStore(
  options: RedisResumableStoreOptions,
): RedisResumableStore {
  const { connection: source, prefix } = resolveResumableOptions(options);
  const ownsCommands = !('client' in source);
  const commands: Redis =
    'client' in source ? source.client : openConnection(source, `sse-resumable:${prefix}`);
  const watch = watchConnection(commands);
  const subscriber = createSubscriber(() =>
    openConnection(source, `sse-resumable-sub:${prefix}`, { autoResubscribe: false }),
  );
  const expiryTimers = new Set<ReturnType<typeof setTimeout>>();
  let closing: Promise<void> | undefined;

  // The id comes last, after a fixed role: no id's key is another id's (`a:meta` and `a`).
  const keys = (id: string) => ({
    meta: `${prefix}:meta:${id}`,
    events: `${prefix}:events:${id}`,
    changed: `${prefix}:changed:${id}`,
    stop: `${prefix}:stop:${id}`,
  });

  /** Resolves once commands can be sent; rejects at once while Redis is known to be down. */
  async function usable(operation: string): Promise<void> {
    if (closing) throw new Error(`cannot ${operation}: the Redis resumable store is closed`);
    if (commands.status === 'ready') return;
    const known = watch.down;
    if (known) {
      throw new RedisUnavailableError(
        `cannot ${operation}: Redis is unreachable (${known.message})`,
        { cause: known },
      );
    }
    try {
      await watch.ready(CONNECT_TIMEOUT_MS, true);
    } catch (error) {
      const cause = asError(error);
      throw new RedisUnavailableError(
        `cannot ${operation}: Redis is unreachable (${cause.message})`,
        { cause },
      );
    }
  }

  async function run(
    operation: string,
    script: Script,
    scriptKeys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    await usable(operation);
    try {
      return await runScript(commands, script, scriptKeys, args);
    } catch (error) {
      if (isReplyError(error)) throw error;
      // A command cut short by a lost connection fails with a generic error; the connection knows why.
      const cause = watch.down ?? asError(error);
      throw new RedisUnavailableError(
        `cannot ${operation}: the connection to Redis failed before it answered (${cause.message})`,
        { cause },
      );
    }
  }

  /** Tells `onChange` when stream `id` expires (Redis says nothing), so that followers end. */
  function watchExpiry(id: string, onChange: () => void): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    usable(`watch "${id}"`)
      .then(() => commands.pttl(keys(id).meta))
      .then(
        (ttl) => {
          // -2: already gone, which the watcher's read finds; -1 (no expiry) is not ours.
          if (stopped || ttl < 0) return;
          timer = setTimeout(() => {
            if (timer) expiryTimers.delete(timer);
            onChange();
          }, ttl + EXPIRY_SLACK_MS);
          (timer as { unref?: () => void }).unref?.();
          expiryTimers.add(timer);
        },
        // Redis is down: the watcher's next read says so.
        () => {},
      );
    return () => {
      stopped = true;
      if (timer) {
        clearTimeout(timer);
        expiryTimers.delete(timer);
      }
    };
  }

  /** Calls `onStop` if a stop was asked for before this process listened (or while it was cut off). */
  function checkStopAsked(id: string, onStop: () => void): void {
    if (closing || commands.status !== 'ready') return;
    commands.hmget(keys(id).meta, 'stop', 'outcome').then(
      ([stop, outcome]) => {
        if (stop && !outcome) onStop();
      },
      () => {},
    );
  }

  return {
    async create(id, ttlMs, epoch) {
      if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TTL_MS) {
        throw invalid('create(id, ttlMs)', `an integer of ms from 1 to ${MAX_TTL_MS}`, ttlMs);
      }
      const { meta, events } = keys(id);
      return (await run(`create "${id}"`, CREATE, [meta, events], [ttlMs, epoch])) === 1;
    },

    async renew(id, leaseMs) {
      await run(`renew "${id}"`, RENEW, [keys(id).meta], [leaseMs]);
    },

    async append(id, event) {
      const { meta, events, changed } = keys(id);
      const args = [event.seq, changed, event.data];
      if (event.event !== undefined) args.push(event.event);
      const appended = await run(`append to "${id}"`, APPEND, [meta, events], args);
      // Followers here need not wait for the message to come back from Redis.
      if (appended === 1) subscriber.deliver(changed);
    },

    async finish(id, outcome) {
      const { meta, changed } = keys(id);
      const finished = await run(`finish "${id}"`, FINISH, [meta], [outcome, changed]);
      if (finished === 1) subscriber.deliver(changed);
    },

    async read(id, afterSeq) {
      const { meta, events } = keys(id);
      const reply = await run(`read "${id}"`, READ, [meta, events], [`(0-${startAfter(afterSeq)}`]);
      if (reply === null) return undefined;
      const [last, outcome, entries, abandoned, epoch] = reply as [
        string,
        string | null,
        RawEntry[],
        number,
        string | null,
      ];
      const page: ResumablePage = {
        events: entries.map(toEvent),
        outcome: (outcome ?? undefined) as ResumableOutcome | undefined,
        lastSeq: Number(last),
        epoch: epoch ?? '',
        ...(abandoned === 1 ? { abandoned: true } : {}),
      };
      return page;
    },

    watch(id, onChange) {
      const own = () => onChange();
      // Once subscribed (again), a follower reads again: what was published before is not lost.
      const unlisten = subscriber.listen(keys(id).changed, own, own);
      const unwatchExpiry = watchExpiry(id, own);
      return () => {
        unlisten();
        unwatchExpiry();
      };
    },

    async requestStop(id) {
      const { meta, stop } = keys(id);
      return (await run(`ask "${id}" to stop`, REQUEST_STOP, [meta], [stop])) === 1;
    },

    onStopRequest(id, onStop) {
      const own = () => onStop();
      return subscriber.listen(keys(id).stop, own, () => checkStopAsked(id, own));
    },

    close() {
      closing ??= (async () => {
        for (const timer of expiryTimers) clearTimeout(timer);
        expiryTimers.clear();
        await Promise.all([
          subscriber.close(),
          ownsCommands ? closeConnection(commands, true) : undefined,
        ]);
        watch.dispose();
      })();
      return closing;
    },
  };
}

/** The seq to read after, as the memory store takes it: below 0 is 0, a fraction is cut off. */
function startAfter(afterSeq: number): number {
  if (Number.isNaN(afterSeq) || afterSeq <= 0) return 0;
  return Math.min(Math.trunc(afterSeq), Number.MAX_SAFE_INTEGER);
}

/** An entry `0-<seq>` with its fields `d` and, when there is one, `e`. */
function toEvent([entryId, fields]: RawEntry): ResumableEvent {
  let data = '';
  let event: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'd') data = fields[i + 1]!;
    else if (fields[i] === 'e') event = fields[i + 1];
  }
  const seq = Number(entryId.slice(entryId.indexOf('-') + 1));
  return event === undefined ? { seq, data } : { seq, event, data };
}
