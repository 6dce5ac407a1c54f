import { announceListening, listenAddress, onShutdown } from '@sse-middleware/example-kit';
import { buildApp } from './app.js';

const { port, host } = listenAddress();
// Warnings and errors only: at `info`, every poll of a `?stream=true` stream would log two lines.
const app = await buildApp({ logger: { level: 'warn' } });
await app.listen({ port, host });

const address = app.server.address();
const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
announceListening('fastify', url);

// app.close() first ends every stream with a final `shutdown` event, then closes the server.
onShutdown(() => app.close());
