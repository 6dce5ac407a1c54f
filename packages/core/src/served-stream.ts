import { isPromiseLike } from './abort.js';
import {
  isPushSubscription,
  PUSH_SOURCE,
  type PushDelivery,
  type PushSubscription,
} from './channel.js';
import type { StreamContext } from './chunk.js';
import {
  type ClientListener,
  isClientGone,
  LazyAbortSignal,
  unwatchClient,
  watchClient,
} from './client-watch.js';
import type { SlotPool } from './counter.js';
import type { Heartbeat } from './heartbeat.js';
import type { CloseReason, Metrics } from './metrics.js';
import type { Settings } from './options.js';
import { type OutputEvents, StreamOutput } from './output.js';
import { pumpGenerator, pumpIterable } from './pumps.js';
import type { SseRequest } from './request.js';
import type { SseSink } from './sink.js';

/** What every stream of one engine shares. */
export interface StreamEnvironment {
  readonly settings: Settings;
  /** Each stream holds one slot from here until it stops. */
  readonly slots: SlotPool;
  readonly metrics: Metrics;
  readonly heartbeat: Heartbeat;
  /** Sent first on every stream, when `retry` is set. */
  readonly retryHint: Uint8Array | undefined;
  readonly wait: boolean;
  /** The streams being served. */
  readonly open: Set<ServedStream>;
  report(error: unknown, req: SseRequest): void;
  writeErrorEvent(error: unknown, output: StreamOutput, req: SseRequest): void;
  writeFinalEvent(output: StreamOutput, req: SseRequest): void;
}

/**
 * One stream, from its head to its end: the client left, the source ended or failed, the
 * client was too slow, or the engine shut down. A push source (a channel) is subscribed and
 * then costs nothing but this object until the stream stops: no suspended async function, no
 * promise waiting for an abort, and an AbortSignal only if someone reads `ctx.signal`.
 */
export class ServedStream implements OutputEvents, PushDelivery, ClientListener {
  readonly output: StreamOutput;
  /** Settles once the stream has ended and everything is released. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  #rejectDone!: (error: unknown) => void;
  #reason: CloseReason = 'client';
  #ending = false;
  #finished = false;
  /** A push source is subscribed (or subscribing): the stream ends when it stops. */
  #pushing = false;
  #holdsSlot = true;
  #unsubscribe: (() => void) | undefined;
  /** Aborts when the stream stops. */
  readonly #stopped = new LazyAbortSignal();

  constructor(
    private readonly env: StreamEnvironment,
    private readonly req: SseRequest,
    private readonly sink: SseSink,
    private readonly releaseKey: (() => void) | undefined,
  ) {
    this.output = new StreamOutput(sink, env.settings.maxQueuedBytes, env.settings.policy, this);
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
  }

  /** Aborts when the stream ends; created on first read. */
  get signal(): AbortSignal {
    return this.#stopped.signal;
  }

  get aborted(): boolean {
    return this.#stopped.aborted;
  }

  get maxQueuedBytes(): number {
    return this.output.maxQueuedBytes;
  }

  /** Sends the head and starts the source. */
  start(): void {
    const { settings, retryHint, heartbeat, wait } = this.env;
    const { req, output } = this;
    if (watchClient(this.sink, this)) this.stop();
    const ctx = this.#context(settings.source);
    try {
      this.sink.head(settings.status, settings.headers);
      if (retryHint) output.send(retryHint);
      heartbeat.add(output);
      if (!settings.source) {
        this.#follow(pumpGenerator(settings.chunkGenerator, req, ctx, output, wait));
        return;
      }
      const produced: unknown = settings.source(req, ctx);
      if (isPushSubscription(produced)) this.#subscribe(produced);
      else this.#follow(pumpIterable(produced, ctx.signal, output, wait));
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * A channel reads no signal unless asked to, so a push source gets one created on first read
   * (the context is dropped once subscribed); the others get it at once.
   */
  #context(source: Settings['source']): StreamContext {
    const lastEventId = lastEventIdOf(this.req);
    if (!source || !(PUSH_SOURCE in source)) return { signal: this.signal, lastEventId };
    const stream = this;
    return {
      get signal() {
        return stream.signal;
      },
      lastEventId,
    };
  }

  /** Ends the stream; `why` is kept only by the first stop. Idempotent. */
  stop(why?: CloseReason): void {
    if (why && !this.#stopped.aborted) this.#reason = why;
    if (this.#holdsSlot) {
      this.#holdsSlot = false;
      this.env.slots.giveBack();
    }
    this.releaseKey?.();
    this.#stopped.abort();
    if (this.#pushing) this.#end(undefined);
  }

  send(bytes: Uint8Array): void {
    this.output.send(bytes);
  }

  whenWritable(): Promise<void> | undefined {
    return this.output.whenWritable();
  }

  overflow(): void {
    this.output.overflow();
  }

  written(bytes: number): void {
    this.env.metrics.written(this.req, bytes);
  }

  dropped(bytes: number): void {
    this.env.metrics.dropped(this.req, bytes);
  }

  overflowed(): void {
    this.stop('slow-consumer');
  }

  clientGone(): void {
    this.stop();
  }

  handleEvent(): void {
    this.stop();
  }

  #follow(pump: Promise<'end' | undefined>): void {
    pump.then(
      (why) => this.#end(why),
      (error: unknown) => this.#fail(error),
    );
  }

  #subscribe(subscription: PushSubscription): void {
    let subscribing: ReturnType<PushSubscription[typeof PUSH_SOURCE]>;
    try {
      subscribing = subscription[PUSH_SOURCE](this);
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#pushing = true;
    if (isPromiseLike(subscribing)) {
      subscribing.then(
        (unsubscribe) => this.#subscribed(unsubscribe),
        (error: unknown) => this.#fail(error),
      );
    } else {
      this.#subscribed(subscribing);
    }
    if (this.#stopped.aborted) this.#end(undefined);
  }

  #subscribed(unsubscribe: () => void): void {
    if (this.#finished) callQuietly(unsubscribe);
    else this.#unsubscribe = unsubscribe;
  }

  /** A failure of the source: reported, and told to the client, unless the stream had stopped. */
  #fail(error: unknown): void {
    if (this.#stopped.aborted) {
      this.#end(undefined);
      return;
    }
    this.env.writeErrorEvent(error, this.output, this.req);
    this.env.report(error, this.req);
    this.#end('error');
  }

  #end(why: CloseReason | undefined): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#pushing = false;
    unwatchClient(this.sink, this);
    this.stop();
    queueMicrotask(() => this.#finish(why));
  }

  #finish(why: CloseReason | undefined): void {
    this.#finished = true;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    if (unsubscribe) callQuietly(unsubscribe);
    const { env, req, output } = this;
    try {
      env.open.delete(this);
      env.heartbeat.delete(output);
      if (why) this.#reason = why;
      if (this.#reason === 'shutdown' && !isClientGone(this.sink)) env.writeFinalEvent(output, req);
      output.close();
      this.sink.close();
      env.metrics.closed(req, this.#reason);
    } catch (error) {
      this.#rejectDone(error);
      return;
    }
    this.#resolveDone();
  }
}

/** A push source's unsubscribe runs once the stream is over: a throw has nowhere to go. */
function callQuietly(unsubscribe: () => void): void {
  try {
    unsubscribe();
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
