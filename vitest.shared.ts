import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Workspace packages resolve to their sources, so tests never need a build first. Vite's string
 * aliases also match a prefix (`@sse-middleware/core` would take `@sse-middleware/core/adapter` to
 * `…/index.ts/adapter`), and the first match wins: the subpath entries come first.
 */
const workspaceSources: Record<string, string> = {
  '@sse-middleware/core/adapter': `${root}packages/core/src/adapter.ts`,
  '@sse-middleware/core/node': `${root}packages/core/src/node.ts`,
  '@sse-middleware/core': `${root}packages/core/src/index.ts`,
  '@sse-middleware/node-http': `${root}packages/node-http/src/index.ts`,
  '@sse-middleware/fastify': `${root}packages/fastify/src/index.ts`,
  '@sse-middleware/koa': `${root}packages/koa/src/index.ts`,
  '@sse-middleware/hono': `${root}packages/hono/src/index.ts`,
  '@sse-middleware/uws': `${root}packages/uws/src/index.ts`,
  '@sse-middleware/fetch': `${root}packages/fetch/src/index.ts`,
  '@sse-middleware/express': `${root}packages/express/src/index.ts`,
  '@sse-middleware/redis': `${root}packages/redis/src/index.ts`,
  '@sse-middleware/conformance': `${root}packages/conformance/src/index.ts`,
  '@sse-middleware/example-kit': `${root}examples/kit/src/index.ts`,
};

export function sharedConfig(configUrl: string) {
  return defineConfig({
    root: fileURLToPath(new URL('.', configUrl)),
    resolve: { alias: workspaceSources },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 20_000,
      pool: 'forks',
      reporters: process.env.CI ? ['default'] : ['default'],
    },
  });
}
