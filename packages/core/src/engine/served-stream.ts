import {
  type ClientListener,
  hasClientLeft,
  unwatchClient,
  watchClient,
} from '../adapter-kit/client-watch.js';
import { type SseRequest, startedView } from '../adapter-kit/request.js';
import type { SseSink } from '../adapter-kit/sink.js';
import { isPromiseLike } from '../util/promise.js';
import { encodeEvent, type SseEvent } from '../wire/encoder.js';
import type { StreamContext, StreamInit } from './chunk.js';
import type { SlotPool } from './counter.js';
import type { Heartbeat } from './heartbeat.js';
import type { CloseReason, Metrics } from './metrics.js';
import type { Settings } from './options.js';
import { encodeEndEvent } from './options.js';
import { StreamOutput } from './output.js';
import { pumpGenerator, pumpIterable } from './pumps.js';
import {
  isPushSubscription,
  PUSH_SOURCE,
  type PushDelivery,
  type PushSubscription,
  type PushUnsubscribe,
} from './push-source.js';

/** What every stream of one engine shares: data and the engine-wide collaborators, no callbacks. */
export interface StreamEnvironment {
  readonly settings: Settings;
  readonly metrics: Metrics;
  readonly heartbeat: Heartbeat;
  /** Sent first on every stream, when `retry` is set. */
  readonly retryHint: Uint8Array | undefined;
  /** The `wait` slow-consumer policy: pull producers await the client. */
  readonly wait: boolean;
  /** The engine's slots: a stream holds one from its construction until it stops. */
  readonly slots: SlotPool;
  /** The open streams, for `engine.close()`: a stream is in it from its start to its finish. */
  readonly open: Set<ServedStream>;
}

/** What `engine.close` tells each stream: its last event, and the `retry:` hint to jitter. */
export interface ShutdownNotice {
  /** `null` for none. */
  readonly event: SseEvent | null;
  /** In ms, jittered per stream into [retry, 2 * retry); 0 sends none. */
  readonly retry: number;
}

const textEncoder = new TextEncoder();
/**
 * The last event of a stream whose principal expired or was revoked: the client is to get new
 * credentials (a reconnect with the old ones gets a 401, which ends an `EventSource`).
 */
export const REAUTH_EVENT = 'reauth';
const REAUTH_EXPIRED = textEncoder.encode(
  encodeEvent({ event: REAUTH_EVENT, data: '{"reason":"expired"}' }),
);
const REAUTH_REVOKED = textEncoder.encode(
  encodeEvent({ event: REAUTH_EVENT, data: '{"reason":"revoked"}' }),
);
/** The `retry:` base after `maxStreamDuration` when `options.retry` is not set. */
const DEFAULT_EXPIRY_RETRY_MS = 1000;

/** Where a stream is in its life: `end` starts the end, `finish` is the end. */
const RUNNING = 0;
const ENDING = 1;
/** `finish` is under way: nothing subscribes any more, the outcome is not known yet. */
const FINISHING = 2;
const FINISHED = 3;

/** Behind a stream's `done`: made on its first read, or when finishing the stream failed. */
class Completion {
  readonly promise: Promise<void>;
  #settle!: (outcome?: Promise<never>) => void;

  constructor() {
    this.promise = new Promise<void>((resolve) => {
      this.#settle = resolve;
    });
  }

  resolve(): void {
    this.#settle();
  }

  reject(error: unknown): void {
    // An adapter that does not wait for `done` must not meet an unhandled rejection.
    this.promise.catch(ignoreFailure);
    this.#settle(Promise.reject(error));
  }
}

/**
 * One stream, from its head to its end: the client left, the source ended or failed, the
 * client was too slow, or the engine shut down. A push source (a channel) is subscribed and
 * then costs nothing but this object until the stream stops: no suspended async function, no
 * promise waiting for an abort, no closure of its own, and an AbortSignal only if someone reads
 * `ctx.signal`. The stream is its own {@link StreamOutput}, so a channel's fan-out writes to it
 * without another hop, and holds its slot itself (given back when it stops). Its methods are
 * `private`, not `#`: V8 gives every instance of a class with `#` methods a brand slot.
 */
export class ServedStream extends StreamOutput implements PushDelivery, ClientListener {
  // Declared first, V8 lays fields out in this order: a write reads `#env` and `#req` (to count its
  // bytes), so they sit next to StreamOutput's fields, in the cache lines a fan-out touches anyway.
  readonly #env: StreamEnvironment;
  /** The request as matched; once the stream has started, as `startedView` keeps it. */
  #req: SseRequest;
  #completion: Completion | undefined;
  #reason: CloseReason = 'client';
  #phase: typeof RUNNING | typeof ENDING | typeof FINISHING | typeof FINISHED = RUNNING;
  /** A push source is subscribed (or subscribing): the stream ends when it stops. */
  #pushing = false;
  /** Set by `stop('shutdown', notice)`: the final event goes out as the stream ends. */
  #shutdown: ShutdownNotice | undefined;
  #unsubscribe: PushUnsubscribe | undefined;
  /** Set by the first `stop()`, which gives the slot back (and the per-key count). */
  #stopped = false;
  /** Behind `signal`, made on its first read; aborted when the stream stops. */
  #stopSignal: AbortController | undefined;
  /** Under `limitPerKey`: gives this stream's per-key count back. */
  #releaseKey: (() => void) | undefined;

  /** A route-level stream's own source, body and end event. */
  readonly #init: StreamInit | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;

  /**
   * Holds the slot `engine.serve` took for it (and, under `limitPerKey`, the per-key count that
   * `releaseKey` gives back) until it stops.
   */
  constructor(
    env: StreamEnvironment,
    req: SseRequest,
    sink: SseSink,
    releaseKey: (() => void) | undefined,
    init?: StreamInit,
  ) {
    super(sink, env.settings);
    this.#env = env;
    this.#req = req;
    this.#releaseKey = releaseKey;
    this.#init = init;
  }

  /** Settles once the stream has ended and everything is released. */
  get done(): Promise<void> {
    if (this.#completion === undefined) {
      this.#completion = new Completion();
      // Finished without one: finishing went well (a failure makes one).
      if (this.#phase === FINISHED) this.#completion.resolve();
    }
    return this.#completion.promise;
  }

  /** Aborts when the stream ends; created on first read. */
  get signal(): AbortSignal {
    if (!this.#stopSignal) {
      this.#stopSignal = new AbortController();
      if (this.#stopped) this.#stopSignal.abort();
    }
    return this.#stopSignal.signal;
  }

  get aborted(): boolean {
    return this.#stopped;
  }

  /**
   * Sends the head and starts the source. Then the stream keeps the request as `startedView`
   * says (a chunk generator is still called with the whole of it).
   */
  start(): void {
    const { settings, retryHint, heartbeat, wait, open } = this.#env;
    const req = this.#req;
    open.add(this);
    if (watchClient(this.sink, this)) this.stop();
    const init = this.#init;
    const source = init?.source ?? settings.source;
    const ctx = this.context(source);
    try {
      this.sink.head(settings.status, settings.headers);
      if (retryHint) this.send(retryHint);
      heartbeat.add(this);
      if (settings.maxStreamDuration !== undefined) this.expireAfter(settings.maxStreamDuration);
      if (!source) {
        this.follow(pumpGenerator(settings.chunkGenerator, req, ctx, this, wait));
        return;
      }
      const produced: unknown = typeof source === 'function' ? source(req, ctx) : source;
      if (isPushSubscription(produced)) this.subscribe(produced);
      else this.follow(pumpIterable(produced, ctx.signal, this, wait));
    } catch (error) {
      this.fail(error);
    } finally {
      this.#req = startedView(req);
    }
  }

  /**
   * A channel reads no signal unless asked to, so a push source gets one created on first read
   * (the context is dropped once subscribed); the others get it at once.
   */
  private context(source: StreamInit['source']): StreamContext {
    const lastEventId = lastEventIdOf(this.#req);
    const body = this.#init?.body;
    const principal = this.#init?.principal;
    if (!source || !(PUSH_SOURCE in source)) {
      if (principal !== undefined) return { signal: this.signal, lastEventId, body, principal };
      return body === undefined
        ? { signal: this.signal, lastEventId }
        : { signal: this.signal, lastEventId, body };
    }
    const stream = this;
    return {
      get signal() {
        return stream.signal;
      },
      lastEventId,
      body,
      principal,
    };
  }

  /**
   * Ends the stream; `why` (and the shutdown notice) are kept only by the first stop, which gives
   * the slot back. Idempotent.
   */
  stop(why?: CloseReason, notice?: ShutdownNotice): void {
    if (!this.#stopped) {
      if (why) {
        this.#reason = why;
        if (why === 'shutdown') this.#shutdown = notice;
      }
      this.#stopped = true;
      this.giveBack();
      this.#stopSignal?.abort();
    }
    if (this.#pushing) this.end(undefined);
  }

  /** The slot, and the per-key count with it. */
  private giveBack(): void {
    this.#env.slots.giveBack();
    const releaseKey = this.#releaseKey;
    this.#releaseKey = undefined;
    releaseKey?.();
  }

  override written(bytes: number): void {
    this.#env.metrics.written(this.#req, bytes);
  }

  override dropped(bytes: number): void {
    this.#env.metrics.dropped(this.#req, bytes);
  }

  override overflowed(): void {
    this.stop('slow-consumer');
  }

  /** The client left, told by a watchable sink (`WATCH_CLIENT`). */
  clientGone(): void {
    this.stop();
  }

  /** The client left, told by the sink's `signal` (the stream is its abort listener). */
  handleEvent(): void {
    this.stop();
  }

  /** `maxStreamDuration`: the stream ends as `expired`, and its client is told to come back. */
  private expireAfter(ms: number): void {
    const timer = setTimeout(() => this.stop('expired'), ms);
    (timer as { unref?: () => void }).unref?.();
    this.#expiry = timer;
  }

  private follow(pump: Promise<'end' | undefined>): void {
    pump.then(
      (why) => this.end(why),
      (error: unknown) => this.fail(error),
    );
  }

  private subscribe(subscription: PushSubscription): void {
    let subscribing: ReturnType<PushSubscription[typeof PUSH_SOURCE]>;
    try {
      subscribing = subscription[PUSH_SOURCE](this);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.#pushing = true;
    if (isPromiseLike(subscribing)) {
      subscribing.then(
        (unsubscribe) => this.subscribed(unsubscribe),
        (error: unknown) => this.fail(error),
      );
    } else {
      this.subscribed(subscribing);
    }
    if (this.#stopped) this.end(undefined);
  }

  private subscribed(unsubscribe: PushUnsubscribe): void {
    if (this.#phase >= FINISHING) callQuietly(unsubscribe, this);
    else this.#unsubscribe = unsubscribe;
  }

  /** A failure of the source: reported, and told to the client, unless the stream had stopped. */
  private fail(error: unknown): void {
    if (this.#stopped) {
      this.end(undefined);
      return;
    }
    this.writeErrorEvent(error);
    this.#env.settings.onError(error, this.#req);
    this.end('error');
  }

  private end(why: CloseReason | undefined): void {
    if (this.#phase !== RUNNING) return;
    this.#phase = ENDING;
    this.#pushing = false;
    unwatchClient(this.sink, this);
    this.stop();
    queueMicrotask(() => this.finish(why));
  }

  /** The `errorEvent` option's event, when set; a throw on the way is reported. */
  private writeErrorEvent(error: unknown): void {
    const { errorEvent, onError } = this.#env.settings;
    if (!errorEvent) return;
    try {
      this.send(textEncoder.encode(encodeEvent(errorEvent(error))));
    } catch (secondary) {
      onError(secondary, this.#req);
    }
  }

  /** The shutdown notice's event and jittered `retry:` hint, when it has either. */
  private writeFinalEvent(): void {
    if (!this.#shutdown) return;
    const { event, retry } = this.#shutdown;
    const jittered = retry > 0 ? retry + Math.floor(Math.random() * retry) : undefined;
    if (event === null && jittered === undefined) return;
    try {
      this.send(
        textEncoder.encode(
          encodeEvent({ ...event, ...(jittered === undefined ? {} : { retry: jittered }) }),
        ),
      );
    } catch (error) {
      this.#env.settings.onError(error, this.#req);
    }
  }

  /** The end event of a source that ended: `init.endEvent`, else `options.endEvent`. */
  private writeEndEvent(): void {
    const init = this.#init;
    let bytes = this.#env.settings.endEvent;
    try {
      if (init?.endEvent !== undefined) bytes = encodeEndEvent('init.endEvent', init.endEvent);
      if (bytes) this.send(bytes);
    } catch (error) {
      this.#env.settings.onError(error, this.#req);
    }
  }

  /** After `maxStreamDuration`: a `retry:` line, jittered into [retry, 2 * retry). */
  private writeExpiryHint(): void {
    const base = this.#env.settings.retry ?? DEFAULT_EXPIRY_RETRY_MS;
    const jittered = base + Math.floor(Math.random() * Math.max(base, 1));
    this.send(textEncoder.encode(`retry: ${jittered}\n`));
  }

  private finish(why: CloseReason | undefined): void {
    this.#phase = FINISHING;
    clearTimeout(this.#expiry);
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    if (unsubscribe) callQuietly(unsubscribe, this);
    const env = this.#env;
    const req = this.#req;
    env.open.delete(this);
    let failure: { error: unknown } | null = null;
    try {
      env.heartbeat.delete(this);
      if (why) this.#reason = why;
      if (!hasClientLeft(this.sink)) {
        if (this.#reason === 'shutdown') this.writeFinalEvent();
        else if (this.#reason === 'end') this.writeEndEvent();
        else if (this.#reason === 'expired') this.writeExpiryHint();
        else if (this.#reason === 'auth-expired') this.send(REAUTH_EXPIRED);
        else if (this.#reason === 'revoked') this.send(REAUTH_REVOKED);
      }
      this.close();
    } catch (error) {
      failure = { error };
    }
    // The response ends and the stream is counted closed whatever failed before.
    try {
      this.sink.close();
    } catch (error) {
      failure ??= { error };
    }
    env.metrics.closed(req, this.#reason);
    this.#phase = FINISHED;
    if (failure) {
      this.#completion ??= new Completion();
      this.#completion.reject(failure.error);
    } else {
      this.#completion?.resolve();
    }
  }
}

function ignoreFailure(): void {
  // Told through `done` to whoever waits for it.
}

/** A push source's unsubscribe runs once the stream is over: a throw has nowhere to go. */
function callQuietly(subscription: PushUnsubscribe, delivery: PushDelivery): void {
  try {
    subscription.unsubscribe(delivery);
  } catch {
    // Ignored, as when the stream ended.
  }
}

function lastEventIdOf(req: SseRequest): string | undefined {
  const header = req.headers.get('last-event-id');
  if (header !== null) return header;
  if (req.query === '') return undefined;
  return new URLSearchParams(req.query).get('lastEventId') ?? undefined;
}
