import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConformanceServer } from './harness.js';

/** A started Node server as the suite drives it: `close()` destroys every open connection first. */
export function listening(server: Server): ConformanceServer {
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error(`the server is not listening on TCP, address: ${String(address)}`);
  }
  return {
    url: `http://127.0.0.1:${(address as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `listener` (or starts `server`) on 127.0.0.1, port 0. */
export async function listenNode(target: Server | RequestListener): Promise<ConformanceServer> {
  const server = typeof target === 'function' ? createServer(target) : target;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return listening(server);
}
