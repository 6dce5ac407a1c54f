import { assertPlainObject, assertTimerMs, invalid } from '../util/validate.js';
import { checkedPrincipal, type SsePrincipal } from './authorization.js';

/**
 * Where tickets wait to be redeemed. The memory store ships here; `createRedisTicketStore()`
 * (`@sse-middleware/redis`) lets a ticket issued by one process open a stream on another.
 */
export interface TicketStore {
  /** Keeps `value` under `ticket` for `ttlMs`. */
  put(ticket: string, value: string, ttlMs: number): Promise<void> | void;
  /** Removes and returns the value of `ticket` in one step; `undefined` when it is unknown or expired. */
  take(ticket: string): Promise<string | undefined> | string | undefined;
}

export interface StreamTicketsOptions {
  /** How long a ticket may wait to be redeemed, in ms. Default 30000. */
  ttl?: number | undefined;
  /** Default: `createMemoryTicketStore()`. */
  store?: TicketStore | undefined;
}

export interface StreamTickets {
  /** A new single-use ticket for `principal`, to open one stream with (`?ticket=…`). */
  issue(principal: SsePrincipal): Promise<{ ticket: string; expiresAt: number }>;
  /**
   * The principal of `ticket`, which is then used up; `undefined` for a ticket that is unknown,
   * expired, already used, or not a string at all.
   */
  redeem(ticket: string | null | undefined): Promise<SsePrincipal | undefined>;
}

const TICKET = /^[A-Za-z0-9_-]{43}$/;
const DEFAULT_TTL_MS = 30_000;

/**
 * Short-lived, single-use stream tickets, for clients that cannot send headers (`EventSource`):
 * the client POSTs with its real credentials for a ticket, then opens the stream with
 * `?ticket=…`. A ticket in a URL may end up in a log, so it is 256 random bits, good for one
 * stream and for `ttl` ms, instead of a long-lived token.
 *
 * ```ts
 * import { createStreamTickets } from '@sse-middleware/core';
 *
 * const tickets = createStreamTickets({ ttl: 30_000 });
 * const { ticket } = await tickets.issue({ key: 'alice', topics: ['user:alice'] });
 * const principal = await tickets.redeem(ticket); // { key: 'alice', … }; a second redeem: undefined
 * ```
 */
export function createStreamTickets(options: StreamTicketsOptions = {}): StreamTickets {
  assertPlainObject('createStreamTickets(options)', options);
  const ttl = options.ttl ?? DEFAULT_TTL_MS;
  assertTimerMs('createStreamTickets(options).ttl', ttl);
  const store = options.store ?? createMemoryTicketStore();
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.put !== 'function' ||
    typeof store.take !== 'function'
  ) {
    throw invalid(
      'createStreamTickets(options).store',
      'a TicketStore with put() and take()',
      store,
    );
  }
  return {
    async issue(principal) {
      const checked = checkedPrincipal('issue(principal)', principal);
      const ticket = randomTicket();
      const expiresAt = Date.now() + ttl;
      const { expiresAt: until, ...rest } = checked;
      const kept =
        until === undefined
          ? rest
          : { ...rest, expiresAt: until instanceof Date ? until.getTime() : until };
      await store.put(ticket, JSON.stringify(kept), ttl);
      return { ticket, expiresAt };
    },
    async redeem(ticket) {
      if (typeof ticket !== 'string' || !TICKET.test(ticket)) return undefined;
      const value = await store.take(ticket);
      if (value === undefined) return undefined;
      try {
        return checkedPrincipal('a redeemed ticket', JSON.parse(value));
      } catch {
        return undefined;
      }
    },
  };
}

/** Tickets in this process's memory, dropped when they expire. */
export function createMemoryTicketStore(): TicketStore {
  const tickets = new Map<string, { value: string; until: number }>();
  const sweep = (now: number) => {
    for (const [ticket, entry] of tickets) if (entry.until <= now) tickets.delete(ticket);
  };
  let sweptAt = 0;
  return {
    put(ticket, value, ttlMs) {
      const now = Date.now();
      // Expired tickets go in a sweep at most once a second, so unredeemed ones cannot pile up.
      if (now - sweptAt >= 1000) {
        sweep(now);
        sweptAt = now;
      }
      tickets.set(ticket, { value, until: now + ttlMs });
    },
    take(ticket) {
      const entry = tickets.get(ticket);
      if (!entry) return undefined;
      tickets.delete(ticket);
      return entry.until > Date.now() ? entry.value : undefined;
    },
  };
}

function randomTicket(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
