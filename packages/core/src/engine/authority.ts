import type { SseRequest } from '../adapter-kit/request.js';
import {
  type Authorize,
  type AuthorizeContext,
  checkedPrincipal,
  deny,
  expiryOf,
  isDenial,
  type SsePrincipal,
} from '../api/authorization.js';
import type { DisconnectMessage } from '../api/disconnect-bus.js';
import { isPromiseLike } from '../util/promise.js';
import { MAX_TIMER_MS } from '../util/validate.js';
import type { SseAnswer } from './chunk.js';
import type { CloseReason } from './metrics.js';

/** What an `authorize` call came to: a principal, or the answer to send instead of a stream. */
export type Authorization =
  | { readonly principal: SsePrincipal; readonly answer?: undefined }
  | { readonly answer: SseAnswer & { readonly status: number }; readonly principal?: undefined };

const TIMED_OUT = Symbol('timed out');

/** The 401 of a principal past its expiry, or of a key refused by `disconnect({ refuseFor })`. */
export const expiredCredentials = deny(401, {
  headers: { 'WWW-Authenticate': 'Bearer realm="sse", error="invalid_token"' },
}).answer;

/**
 * Runs `authorize` within `timeoutMs`: its principal, or its refusal; `undefined`/`null` is a 401,
 * a throw (or a principal that is no principal) a 500, a hang a 503 (`unavailable`).
 */
export async function runAuthorize(
  authorize: (ctx: AuthorizeContext) => ReturnType<Authorize>,
  req: SseRequest,
  timeoutMs: number,
  answers: { failed: SseAnswer & { status: number }; unavailable: SseAnswer & { status: number } },
  report: (error: unknown, req: SseRequest) => void,
): Promise<Authorization> {
  // The signal, and the controller behind it, exist only for an `authorize` that reads it.
  let controller: AbortController | undefined;
  const ctx: AuthorizeContext = {
    get signal() {
      controller ??= new AbortController();
      return controller.signal;
    },
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    let outcome = authorize(ctx);
    // A synchronous answer needs no time limit.
    if (isPromiseLike(outcome)) {
      const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => {
          controller?.abort(new DOMException('authorize timed out', 'TimeoutError'));
          resolve(TIMED_OUT);
        }, timeoutMs);
      });
      const settled = await Promise.race([outcome, timeout]);
      if (settled === TIMED_OUT) {
        report(new Error(`options.authorize did not settle within ${timeoutMs} ms`), req);
        return { answer: answers.unavailable };
      }
      outcome = settled;
    }
    if (outcome === undefined || outcome === null) return { answer: UNAUTHORIZED };
    if (isDenial(outcome)) return { answer: outcome.answer };
    return { principal: checkedPrincipal('the principal from options.authorize', outcome) };
  } catch (error) {
    report(error, req);
    return { answer: answers.failed };
  } finally {
    clearTimeout(timer);
  }
}

const UNAUTHORIZED = deny(401).answer;

/** A stream as the registry ends it. */
export interface Revocable {
  stop(why: CloseReason): void;
  readonly done: Promise<void>;
}

interface Watched {
  readonly key: string;
  expiry: ReturnType<typeof setTimeout> | undefined;
  revalidation: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The streams of each principal key: ends them at their principal's expiry (`auth-expired`), when a
 * revalidation fails, or on `disconnect({ key })` (`revoked`), and refuses a key for a while after.
 */
export class PrincipalRegistry {
  readonly #byKey = new Map<string, Set<Revocable>>();
  readonly #watched = new Map<Revocable, Watched>();
  /** Key → until when (ms since the epoch) new streams of it are refused. */
  readonly #refused = new Map<string, number>();

  /** Whether `principal` may open a stream now: not expired, not refused. */
  admits(principal: SsePrincipal): boolean {
    const expiresAt = expiryOf(principal);
    if (expiresAt !== undefined && expiresAt <= Date.now()) return false;
    const until = this.#refused.get(principal.key);
    if (until === undefined) return true;
    if (until > Date.now()) return false;
    this.#refused.delete(principal.key);
    return true;
  }

  /**
   * Follows `stream` of `principal`; `revalidate` (every `every` ms) says whether it may go on, or
   * with a new principal of the same key, until when.
   */
  add(
    stream: Revocable,
    principal: SsePrincipal,
    revalidation: { every: number; check: () => Promise<SsePrincipal | undefined> } | undefined,
  ): void {
    const key = principal.key;
    let streams = this.#byKey.get(key);
    if (!streams) {
      streams = new Set();
      this.#byKey.set(key, streams);
    }
    streams.add(stream);
    const watched: Watched = { key, expiry: undefined, revalidation: undefined };
    this.#watched.set(stream, watched);
    this.#expireAt(stream, watched, expiryOf(principal));
    if (revalidation) {
      const again = () => {
        watched.revalidation = unrefTimer(() => {
          revalidation.check().then((renewed) => {
            if (!this.#watched.has(stream)) return;
            if (!renewed || renewed.key !== key || !this.admits(renewed)) {
              stream.stop('revoked');
              return;
            }
            this.#expireAt(stream, watched, expiryOf(renewed));
            again();
          });
        }, revalidation.every);
      };
      again();
    }
    stream.done.then(
      () => this.#forget(stream),
      () => this.#forget(stream),
    );
  }

  /** Ends the streams of `message.key` and refuses it for `refuseFor` ms; how many were ended. */
  disconnect(message: DisconnectMessage): number {
    const now = Date.now();
    for (const [key, until] of this.#refused) if (until <= now) this.#refused.delete(key);
    if (message.refuseFor) {
      const until = now + message.refuseFor;
      this.#refused.set(message.key, Math.max(until, this.#refused.get(message.key) ?? 0));
    }
    const streams = this.#byKey.get(message.key);
    if (!streams) return 0;
    const ending = [...streams];
    for (const stream of ending) stream.stop('revoked');
    return ending.length;
  }

  #expireAt(stream: Revocable, watched: Watched, expiresAt: number | undefined): void {
    clearTimeout(watched.expiry);
    watched.expiry = undefined;
    if (expiresAt === undefined) return;
    const delay = Math.max(expiresAt - Date.now(), 0);
    // Past the longest timer, look again then.
    watched.expiry =
      delay > MAX_TIMER_MS
        ? unrefTimer(() => this.#expireAt(stream, watched, expiresAt), MAX_TIMER_MS)
        : unrefTimer(() => stream.stop('auth-expired'), delay);
  }

  #forget(stream: Revocable): void {
    const watched = this.#watched.get(stream);
    if (!watched) return;
    this.#watched.delete(stream);
    clearTimeout(watched.expiry);
    clearTimeout(watched.revalidation);
    const streams = this.#byKey.get(watched.key);
    streams?.delete(stream);
    if (streams?.size === 0) this.#byKey.delete(watched.key);
  }
}

function unrefTimer(run: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
