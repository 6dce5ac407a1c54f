import type { EngineStats, SseEngine } from '@sse-middleware/core';
import { describeValue, type SseHandle } from '@sse-middleware/core/adapter';
import type { FastifyInstance } from 'fastify';

/**
 * Every stream the plugin serves on one app, whatever context each registration is in: the
 * plugin's handle, decorated as `fastify.sseStreams`. It has the core's `SseHandle.close()`; in
 * place of one `engine` (an app may register the plugin several times) it adds up their `stats()`.
 *
 * ```ts context=fastify-app
 * app.get('/health', async () => ({ streams: app.sseStreams.stats().open }));
 * await app.sseStreams.disconnect({ key: 'alice', refuseFor: 60_000 }); // alice logged out
 * await app.sseStreams.close({ retry: 10_000 }); // before a deploy, with the server still up
 * ```
 */
export interface SseStreams extends Pick<SseHandle, 'close' | 'disconnect'> {
  /**
   * The counters of one registration (the one given that `name` option), or of every
   * registration added up: `open` streams, bytes written, rejections…
   */
  stats(name?: string): EngineStats;
  /**
   * Graceful shutdown of every stream, with the server still up: new streams get a 503, open ones
   * get a final `shutdown` event with a jittered `retry:` hint and end. `fastify.close()` does
   * this by itself (in a `preClose` hook), with the default options.
   */
  close: SseHandle['close'];
  /**
   * Ends the streams of a principal key on every registration (`event: reauth`), and refuses the
   * key for `refuseFor` ms; resolves with how many streams ended on this process. With the
   * `disconnects` option, on every process too.
   */
  disconnect: SseHandle['disconnect'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The SSE streams of this app (decorated by `@sse-middleware/fastify`). */
    readonly sseStreams: SseStreams;
  }
}

type Engines = Map<string | symbol, SseEngine>;

/** Keyed by the app's server, which every encapsulated context shares. */
const enginesByServer = new WeakMap<object, Engines>();

function enginesOf(fastify: FastifyInstance): Engines {
  let engines = enginesByServer.get(fastify.server);
  if (!engines) {
    engines = new Map();
    enginesByServer.set(fastify.server, engines);
  }
  return engines;
}

function addUp(all: Iterable<EngineStats>): EngineStats {
  const total: Record<string, number> = {};
  for (const stats of all) {
    for (const [counter, value] of Object.entries(stats)) {
      total[counter] = (total[counter] ?? 0) + value;
    }
  }
  return total as unknown as EngineStats;
}

function createSseStreams(engines: Engines): SseStreams {
  return {
    stats(name) {
      if (name === undefined) return addUp([...engines.values()].map((engine) => engine.stats()));
      const engine = engines.get(name);
      if (!engine) {
        const names = [...engines.keys()].filter((key) => typeof key === 'string');
        throw new TypeError(
          `sseStreams.stats(name) must be the name of a registration (${names.join(', ') || 'none is named'}), received ${describeValue(name)}`,
        );
      }
      return engine.stats();
    },
    async close(options) {
      await Promise.all([...engines.values()].map((engine) => engine.close(options)));
    },
    async disconnect(filter) {
      const ended = await Promise.all(
        [...engines.values()].map((engine) => engine.disconnect(filter)),
      );
      return ended.reduce((sum, count) => sum + count, 0);
    },
  };
}

/**
 * Adds a registration's engine to `fastify.sseStreams` (under `name`, unique on the app, when
 * given), and ends its streams gracefully on `fastify.close()`.
 */
export function trackStreams(
  fastify: FastifyInstance,
  engine: SseEngine,
  name: string | undefined,
): void {
  const engines = enginesOf(fastify);
  if (name !== undefined && engines.has(name)) {
    throw new TypeError(
      `options.name must be unique on the app, received ${describeValue(name)}, the name of an earlier registration`,
    );
  }
  engines.set(name ?? Symbol('unnamed registration'), engine);
  if (!fastify.hasDecorator('sseStreams'))
    fastify.decorate('sseStreams', createSseStreams(engines));
  fastify.addHook('preClose', () => engine.close());
}
