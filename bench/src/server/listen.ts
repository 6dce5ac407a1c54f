import type { Server } from 'node:http';

/** Listens on an ephemeral port of 127.0.0.1 with a backlog deep enough for a connect storm. */
export function listenNode(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no port'));
      else resolve(address.port);
    });
  });
}
