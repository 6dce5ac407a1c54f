import {
  type Channel,
  type ChannelStats,
  createChannel,
  createDisconnectBus,
  createStreamTickets,
  type DisconnectBus,
  type DisconnectMessage,
  deny,
  type SseDenial,
  SseEncodeError,
  type SseOptions,
  type SsePrincipal,
  type SseRequest,
  type StreamTickets,
} from '@sse-middleware/core';
import {
  createRedisDisconnectBus,
  createRedisStore,
  createRedisTicketStore,
  RedisUnavailableError,
} from '@sse-middleware/redis';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { type ExampleEvents, heartbeatFromEnv } from './events.js';
import { closeOnShutdown } from './listen.js';

/** The Redis stream the private channel uses when `REDIS_URL` is set (apart from `/events`'). */
export const PRIVATE_STREAM_KEY = 'sse-middleware:example:private';

/** The Redis channel `disconnect()` messages (kicks) go through when `REDIS_URL` is set. */
export const PRIVATE_DISCONNECT_CHANNEL = 'sse-middleware:example:disconnects';

/** The Redis keys of the stream tickets when `REDIS_URL` is set. */
export const PRIVATE_TICKET_PREFIX = 'sse-middleware:example:tickets';

/** The HS256 secret tokens are signed with when `EXAMPLE_JWT_SECRET` is not set. Never in production. */
export const DEFAULT_JWT_SECRET = 'dev-secret';

/** The realm of every `WWW-Authenticate` the private routes send. */
export const PRIVATE_REALM = 'sse-middleware-example';

/** The cookie a token may come in instead of `Authorization: Bearer`. */
export const SESSION_COOKIE = 'session';

/** How long a ticket from `POST /private/ticket` may wait to open its stream. */
export const TICKET_TTL_MS = 30_000;

/** The topic of a user's own events: `POST /private/publish { "to": "<sub>" }` publishes on it. */
export const userTopic = (sub: string): string => `user:${sub}`;

/** A request header by its lower-case name, as each server reads it. */
export type HeaderLookup = (name: string) => string | undefined;

/** What a private POST route answers: a status, a JSON body, and headers to add (`WWW-Authenticate`). */
export interface PrivateAnswer {
  status: number;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
}

/** A private POST route: the request's headers and body text in, the answer out. Never rejects. */
export type PrivatePost = (headers: HeaderLookup, body: string) => Promise<PrivateAnswer>;

/** What every example mounts for its private routes, whatever its server. */
export interface PrivateStreams {
  /** `GET /private/events`: the options of the route-level form (`sseRoute()`, `{ sseStream }`). */
  readonly events: SseOptions;
  /**
   * The POST routes by path, each given the body as text (the app reads at most `MAX_PUBLISH_BYTES`, 64 KiB):
   * - `/private/ticket`: a single-use ticket for an `EventSource` (201), for a Bearer or cookie user;
   * - `/private/publish` `{ to, event?, data }`: an event for user `to` only (202);
   * - `/private/kick` `{ sub }`: an admin ends that user's streams on every process (202).
   */
  readonly posts: ReadonlyMap<string, PrivatePost>;
  /** The private channel's counts, for `/app/metrics`. */
  stats(): ChannelStats;
}

/** The settings of the private routes, read from the environment. */
export interface PrivateSettings {
  secret: Uint8Array;
  /** `undefined`: any origin (`ALLOWED_ORIGINS=*`). */
  allowedOrigins: readonly string[] | undefined;
  rateCapacity: number;
  ratePerSecond: number;
  kickRefuseMs: number;
}

/**
 * `EXAMPLE_JWT_SECRET` (default `dev-secret`), `ALLOWED_ORIGINS` (comma-separated origins or
 * `same-origin`; `*` for any; default `same-origin`), `PRIVATE_RATE_CAPACITY` (10),
 * `PRIVATE_RATE_PER_SECOND` (1), `KICK_REFUSE_MS` (60000).
 */
export function privateSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PrivateSettings {
  const secret = env.EXAMPLE_JWT_SECRET || DEFAULT_JWT_SECRET;
  const origins = (env.ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  return {
    secret: new TextEncoder().encode(secret),
    allowedOrigins: origins.includes('*')
      ? undefined
      : origins.length === 0
        ? ['same-origin']
        : origins,
    rateCapacity: numberFromEnv(env, 'PRIVATE_RATE_CAPACITY', 10, { integer: true, min: 1 }),
    ratePerSecond: numberFromEnv(env, 'PRIVATE_RATE_PER_SECOND', 1, { integer: false, min: 0 }),
    kickRefuseMs: numberFromEnv(env, 'KICK_REFUSE_MS', 60_000, { integer: true, min: 0 }),
  };
}

function numberFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  { integer, min }: { integer: boolean; min: number },
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  const valid = integer ? Number.isSafeInteger(value) : Number.isFinite(value);
  if (!valid || value < min || (!integer && value <= 0)) {
    throw new TypeError(
      `${name} must be a ${integer ? 'whole number' : 'positive number'} >= ${min}, received ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** The private routes' channel, tickets and disconnect bus: in memory, or shared through Redis. */
interface Backing {
  channel: Channel<ExampleEvents>;
  tickets: StreamTickets;
  bus: DisconnectBus;
}

function createBacking(env: NodeJS.ProcessEnv): Backing {
  const url = env.REDIS_URL;
  if (url === undefined || url === '') {
    return {
      channel: createChannel<ExampleEvents>(),
      tickets: createStreamTickets({ ttl: TICKET_TTL_MS }),
      bus: createDisconnectBus(),
    };
  }
  const onError = (error: Error) => console.error(`[redis] ${error.message}`);
  const store = createRedisStore({ url, key: PRIVATE_STREAM_KEY, onError });
  const ticketStore = createRedisTicketStore({ url, prefix: PRIVATE_TICKET_PREFIX });
  // Each process hears its own kicks back from Redis, as it hears every other process's.
  const bus = createRedisDisconnectBus({ url, channel: PRIVATE_DISCONNECT_CHANNEL, onError });
  const channel = createChannel<ExampleEvents>({ store });
  closeOnShutdown(async () => {
    channel.close();
    await Promise.allSettled([store.close(), ticketStore.close(), bus.close()]);
  });
  return {
    channel,
    tickets: createStreamTickets({ ttl: TICKET_TTL_MS, store: ticketStore }),
    bus,
  };
}

/** Who a request says it is: the credential and where it came from. */
type Credential =
  | { kind: 'bearer' | 'cookie' | 'ticket'; value: string }
  | { kind: 'malformed'; value: string };

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

function bearerOrCookie(header: HeaderLookup): Credential | undefined {
  const authorization = header('authorization');
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    return match
      ? { kind: 'bearer', value: match[1]! }
      : { kind: 'malformed', value: authorization };
  }
  const session = cookieValue(header('cookie'), SESSION_COOKIE);
  return session === undefined ? undefined : { kind: 'cookie', value: session };
}

/** The value of cookie `name` in a `Cookie` header, without quotes; `undefined` when absent or empty. */
export function cookieValue(cookies: string | undefined, name: string): string | undefined {
  if (cookies === undefined) return undefined;
  for (const pair of cookies.split(';')) {
    const at = pair.indexOf('=');
    if (at === -1 || pair.slice(0, at).trim() !== name) continue;
    let value = pair.slice(at + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    return value === '' ? undefined : value;
  }
  return undefined;
}

/** The credential of a `GET /private/events`: `?ticket=`, else Bearer, else the cookie. */
function streamCredential(req: SseRequest): Credential | undefined {
  const ticket = req.query === '' ? null : new URLSearchParams(req.query).get('ticket');
  if (ticket !== null) return { kind: 'ticket', value: ticket };
  return bearerOrCookie((name) => req.headers.get(name) ?? undefined);
}

/** Why a request is not authenticated: what the 401 says. */
interface Unauthenticated {
  /** `false`: no credentials at all (a 401 without an `error` parameter). */
  invalid: boolean;
  message: string;
}

const challenge = ({ invalid }: Unauthenticated): string =>
  invalid
    ? `Bearer realm="${PRIVATE_REALM}", error="invalid_token"`
    : `Bearer realm="${PRIVATE_REALM}"`;

const NO_CREDENTIALS: Unauthenticated = {
  invalid: false,
  message:
    'credentials required: Authorization: Bearer <token>, a session cookie, or ?ticket= on GET /private/events',
};

function tokenProblem(error: unknown): Unauthenticated {
  const invalid = (message: string): Unauthenticated => ({ invalid: true, message });
  if (error instanceof joseErrors.JWTExpired) return invalid('the token has expired');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return invalid("the token's algorithm is not allowed: HS256 only");
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return invalid("the token's signature is invalid");
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return invalid(`the token's claims are invalid: ${error.message}`);
  }
  return invalid('the token is malformed');
}

const MAX_TOPICS = 100;

/** The principal of a token's verified claims, or why they are not enough. */
function principalOfClaims(payload: JWTPayload): SsePrincipal | Unauthenticated {
  const { sub, exp, topics } = payload;
  if (typeof sub !== 'string' || sub === '' || sub.length > 256) {
    return { invalid: true, message: 'the token\'s "sub" must be a non-empty string' };
  }
  if (typeof exp !== 'number') return { invalid: true, message: 'the token needs an "exp"' };
  if (
    topics !== undefined &&
    (!Array.isArray(topics) ||
      topics.length > MAX_TOPICS ||
      topics.some((topic) => typeof topic !== 'string' || topic === ''))
  ) {
    return {
      invalid: true,
      message: `the token's "topics" must be an array of at most ${MAX_TOPICS} non-empty strings`,
    };
  }
  if (payload.role !== undefined && typeof payload.role !== 'string') {
    return { invalid: true, message: 'the token\'s "role" must be a string' };
  }
  return {
    key: sub,
    topics: [userTopic(sub), ...((topics as string[] | undefined) ?? [])],
    expiresAt: exp * 1000,
    claims: payload,
  };
}

const isPrincipal = (value: SsePrincipal | Unauthenticated): value is SsePrincipal =>
  'key' in value;

const json = (status: number, body: unknown, headers?: Record<string, string>): PrivateAnswer =>
  headers ? { status, body, headers } : { status, body };

const unauthorized = (problem: Unauthenticated): PrivateAnswer =>
  json(401, { error: problem.message }, { 'WWW-Authenticate': challenge(problem) });

const denial = (problem: Unauthenticated): SseDenial =>
  deny(401, {
    headers: { 'WWW-Authenticate': challenge(problem), 'Content-Type': 'application/json' },
    body: JSON.stringify({ error: problem.message }),
  });

const MAX_SUB_LENGTH = 256;

/** A JSON object body, or the 400 to answer. */
function jsonObject(body: string, shape: string): Record<string, unknown> | PrivateAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return json(400, { error: `invalid JSON: ${(error as Error).message}` });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return json(400, { error: `the body must be a JSON object ${shape}` });
  }
  return parsed as Record<string, unknown>;
}

const isAnswer = (value: object): value is PrivateAnswer => 'status' in value && 'body' in value;

/** Same rules as the engine's `allowedOrigins`: no `Origin` passes; `same-origin` is the `Host`. */
function originAllowed(header: HeaderLookup, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true;
  const origin = header('origin');
  if (origin === undefined) return true;
  const lower = origin.toLowerCase();
  if (allowed.some((entry) => entry.toLowerCase() === lower)) return true;
  if (!allowed.includes('same-origin')) return false;
  const host = header('host');
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * The private routes of every example, from `env` (see {@link privateSettingsFromEnv};
 * `HEARTBEAT_MS`; `REDIS_URL` to share the channel, the tickets and the kicks between processes):
 *
 * - `GET /private/events`: the stream of one user, authenticated by an HS256 JWT (`sub`, `exp`,
 *   optional `topics` and `role`) as `Authorization: Bearer`, a `session` cookie, or a ticket
 *   (`?ticket=`); it gets the events of topic `user:<sub>` and of the token's `topics`, live and
 *   by replay, and ends with `event: reauth` when the token expires or an admin kicks the user.
 * - `POST /private/ticket`, `POST /private/publish`, `POST /private/kick`.
 */
export function createPrivateStreams(env: NodeJS.ProcessEnv = process.env): PrivateStreams {
  const settings = privateSettingsFromEnv(env);
  const { channel, tickets, bus } = createBacking(env);
  const heartbeat = heartbeatFromEnv(env);

  // Kicked users, heard on the bus (from this process or, with Redis, any other): their tokens are
  // refused by every private route for `refuseFor` ms, as the engine refuses their new streams.
  const kicked = new Map<string, number>();
  bus.subscribe((message: DisconnectMessage) => {
    const now = Date.now();
    for (const [sub, until] of kicked) if (until <= now) kicked.delete(sub);
    const refuseFor = message?.refuseFor;
    if (typeof message?.key !== 'string' || typeof refuseFor !== 'number' || refuseFor <= 0) return;
    kicked.set(message.key, Math.max(kicked.get(message.key) ?? 0, now + refuseFor));
  });
  const isKicked = (sub: string) => (kicked.get(sub) ?? 0) > Date.now();

  /** The principal of a token, or why it is refused. */
  async function verify(token: string): Promise<SsePrincipal | Unauthenticated> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, settings.secret, {
        algorithms: ['HS256'],
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      return tokenProblem(error);
    }
    return admitted(principalOfClaims(payload));
  }

  /** A principal that has not expired and whose user has not been kicked. */
  function admitted(found: SsePrincipal | Unauthenticated): SsePrincipal | Unauthenticated {
    if (!isPrincipal(found)) return found;
    if (typeof found.expiresAt === 'number' && found.expiresAt <= Date.now()) {
      return { invalid: true, message: 'the token has expired' };
    }
    if (isKicked(found.key)) {
      return {
        invalid: true,
        message: 'this user was signed out by an administrator: sign in again later',
      };
    }
    return found;
  }

  /** The user of a POST: Bearer or cookie, never a ticket. */
  async function authenticate(header: HeaderLookup): Promise<SsePrincipal | PrivateAnswer> {
    const credential = bearerOrCookie(header);
    if (credential === undefined) return unauthorized(NO_CREDENTIALS);
    if (credential.kind === 'malformed') {
      return unauthorized({
        invalid: true,
        message: 'the Authorization header must be "Bearer <token>"',
      });
    }
    const found = await verify(credential.value);
    return isPrincipal(found) ? found : unauthorized(found);
  }

  /** Origin first (403), then the user (401): what every POST route checks. */
  async function user(header: HeaderLookup): Promise<SsePrincipal | PrivateAnswer> {
    if (!originAllowed(header, settings.allowedOrigins)) {
      return json(403, { error: 'this origin may not use the private routes' });
    }
    return authenticate(header);
  }

  /** Runs a route, answering a failure of Redis with 503 and any other with 500: never rejects. */
  async function guarded(route: () => Promise<PrivateAnswer>): Promise<PrivateAnswer> {
    try {
      return await route();
    } catch (error) {
      if (error instanceof RedisUnavailableError) return json(503, { error: error.message });
      console.error('[private routes]', error);
      return json(500, { error: 'internal server error' });
    }
  }

  const events: SseOptions = {
    authorize: async (req) => {
      const credential = streamCredential(req);
      if (credential === undefined) return denial(NO_CREDENTIALS);
      if (credential.kind === 'malformed') {
        return denial({
          invalid: true,
          message: 'the Authorization header must be "Bearer <token>"',
        });
      }
      if (credential.kind !== 'ticket') {
        const found = await verify(credential.value);
        return isPrincipal(found) ? found : denial(found);
      }
      const principal = await tickets.redeem(credential.value);
      if (principal === undefined) {
        return denial({
          invalid: true,
          message:
            'the ticket is unknown, expired or already used: POST /private/ticket for another',
        });
      }
      const found = admitted(principal);
      return isPrincipal(found) ? found : denial(found);
    },
    allowedOrigins: settings.allowedOrigins,
    // A reconnect storm with one credential gets a 429 before it costs a verification or a slot.
    rateLimit: {
      key: (req) => streamCredential(req)?.value,
      capacity: settings.rateCapacity,
      refillPerSecond: settings.ratePerSecond,
    },
    disconnects: bus,
    // The principal's topics (`user:<sub>` and the token's) are all a stream gets, live and by replay.
    source: channel.source(),
    heartbeat,
    retry: 2000,
    maxConnections: 1000,
  };

  const ticket: PrivatePost = (header) =>
    guarded(async () => {
      const found = await user(header);
      if (isAnswer(found)) return found;
      const { ticket, expiresAt } = await tickets.issue(found);
      return json(201, {
        ticket,
        expiresAt,
        url: `/private/events?ticket=${encodeURIComponent(ticket)}`,
      });
    });
  const publish: PrivatePost = (header, body) =>
    guarded(async () => {
      const found = await user(header);
      if (isAnswer(found)) return found;
      const request = jsonObject(body, '{ "to": "<sub>", "event"?: string, "data": any }');
      if (isAnswer(request)) return request;
      const { to, event = 'message' } = request;
      if (typeof to !== 'string' || to === '' || to.length > MAX_SUB_LENGTH) {
        return json(400, { error: '"to" must be the "sub" of a user: a non-empty string' });
      }
      if (typeof event !== 'string') return json(400, { error: '"event" must be a string' });
      if (!('data' in request)) return json(400, { error: 'the body needs a "data"' });
      try {
        const { id } = await channel.publish(event, request.data, { topic: userTopic(to) });
        return json(202, { id });
      } catch (error) {
        if (error instanceof SseEncodeError) return json(400, { error: error.message });
        throw error;
      }
    });
  const kick: PrivatePost = (header, body) =>
    guarded(async () => {
      const found = await user(header);
      if (isAnswer(found)) return found;
      if (found.claims?.role !== 'admin') {
        return json(403, { error: 'only an admin (a token with "role": "admin") may kick' });
      }
      const request = jsonObject(body, '{ "sub": "<sub>" }');
      if (isAnswer(request)) return request;
      const { sub } = request;
      if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUB_LENGTH) {
        return json(400, { error: '"sub" must be the "sub" of a user: a non-empty string' });
      }
      // Every engine on the bus ends that user's streams with `event: reauth` and answers its
      // new ones with a 401 for `refuseFor` ms, so an auto-reconnecting EventSource stops.
      await bus.publish({ key: sub, refuseFor: settings.kickRefuseMs });
      return json(202, { sub });
    });

  return {
    events,
    posts: new Map([
      ['/private/ticket', ticket],
      ['/private/publish', publish],
      ['/private/kick', kick],
    ]),
    stats: () => channel.stats(),
  };
}
