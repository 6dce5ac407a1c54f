import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { describeExampleContract, listening } from '@sse-middleware/conformance';
import { buildApp } from '../src/app.js';

describeExampleContract({
  name: 'hono',
  start() {
    return new Promise((resolve) => {
      const server = serve({ fetch: buildApp().fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(listening(server as Server)),
      );
    });
  },
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
