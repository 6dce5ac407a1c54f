import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Capabilities, ConformanceServer } from './harness.js';
import { listening } from './listen.js';

// biome-ignore lint/suspicious/noExplicitAny: each runtime passes its own arguments after the request.
type Fetch = (request: Request, ...rest: any[]) => Response | Promise<Response>;

interface BunRuntime {
  serve(options: { port: number; hostname: string; fetch: Fetch }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void>;
  };
}

interface DenoRuntime {
  serve(
    options: { port: number; hostname: string; onListen(address: { port: number }): void },
    handler: Fetch,
  ): { shutdown(): Promise<void>; finished: Promise<void> };
}

/** The runtime the tests run on, as the matrix names it. */
export const RUNTIME: 'bun' | 'deno' | 'node' =
  'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node';

/**
 * Serves `fetch` on 127.0.0.1, port 0, with the runtime's own server: `Bun.serve`, `Deno.serve`,
 * or on Node `@hono/node-server` (a Fetch bridge). `close()` drops every open connection; Deno's
 * server can only wait for its responses to end, so there `endStreams` ends them first.
 */
export async function listenFetch(
  fetch: Fetch,
  endStreams?: () => Promise<void>,
  bunIdleTimeoutSeconds?: number,
): Promise<ConformanceServer> {
  if (RUNTIME === 'bun') {
    const bun = (globalThis as unknown as { Bun: BunRuntime }).Bun;
    const server = bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch,
      ...(bunIdleTimeoutSeconds === undefined ? {} : { idleTimeout: bunIdleTimeoutSeconds }),
    });
    return { url: `http://127.0.0.1:${server.port}`, close: () => server.stop(true) };
  }
  if (RUNTIME === 'deno') {
    const deno = (globalThis as unknown as { Deno: DenoRuntime }).Deno;
    let server!: ReturnType<DenoRuntime['serve']>;
    const port = await new Promise<number>((resolve) => {
      server = deno.serve(
        { port: 0, hostname: '127.0.0.1', onListen: (address) => resolve(address.port) },
        fetch,
      );
    });
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        const shutdown = server.shutdown();
        await endStreams?.();
        await shutdown;
      },
    };
  }
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(listening(server as Server)),
    );
  });
}

/** What the runtime's own server does otherwise than Node's, by name. */
export const RUNTIME_LIMITS: Readonly<Record<typeof RUNTIME, Capabilities>> = {
  node: {},
  bun: {
    refusesRepeatedContentLength:
      'Bun.serve merges identical Content-Length values, as RFC 9110 §8.6 allows: the request after them is then an ordinary pipelined one, framed alike by every compliant intermediary',
  },
  deno: {
    closesPipelined:
      'Deno.serve reads a pipelined request only once the response before it has ended, so it never runs behind an open stream; a fetch handler cannot reach the connection to close it sooner',
    refusesRepeatedContentLength:
      'Deno.serve merges identical Content-Length values, as RFC 9110 §8.6 allows: the request after them is then an ordinary pipelined one, framed alike by every compliant intermediary',
  },
};
