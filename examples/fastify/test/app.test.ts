import { fileURLToPath } from 'node:url';
import { describeExampleContract } from '@sse-middleware/conformance';
import { buildApp } from '../src/app.js';

describeExampleContract({
  name: 'fastify',
  async start() {
    const app = await buildApp({ forceCloseConnections: true });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not a TCP address');
    return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
  },
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
