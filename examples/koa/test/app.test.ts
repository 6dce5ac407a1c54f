import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describeExampleContract } from '@sse-middleware/conformance';
import { buildApp } from '../src/app.js';

describeExampleContract({
  name: 'koa',
  async start() {
    const server = createServer(buildApp().callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
