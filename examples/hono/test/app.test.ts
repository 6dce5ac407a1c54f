import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { describeExampleContract } from '@sse-middleware/conformance';
import { buildApp } from '../src/app.js';

describeExampleContract({
  name: 'hono',
  start() {
    return new Promise((resolve) => {
      const server = serve(
        { fetch: buildApp().fetch, port: 0, hostname: '127.0.0.1' },
        (info: AddressInfo) =>
          resolve({
            url: `http://127.0.0.1:${info.port}`,
            close: () =>
              new Promise<void>((done) => {
                (server as Server).closeAllConnections();
                server.close(() => done());
              }),
          }),
      );
    });
  },
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
