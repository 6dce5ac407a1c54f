import { createConnection, createServer, type Socket } from 'node:net';

/** A TCP load balancer in front of the nodes. */
export interface Balancer {
  /** Where clients connect, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** Stops accepting, and closes every connection it carries. */
  close(): Promise<void>;
}

/**
 * A round-robin TCP balancer with no sticky sessions: each new connection goes to the next node
 * (a node that refuses it is skipped), so a reconnecting client usually lands on another node
 * than before, which is what Redis makes safe.
 *
 * ```ts
 * const balancer = await startBalancer(['http://127.0.0.1:4001', 'http://127.0.0.1:4002'], 3000);
 * // curl -N http://127.0.0.1:3000/events
 * ```
 */
export async function startBalancer(
  targets: readonly string[],
  port: number,
  host = '127.0.0.1',
): Promise<Balancer> {
  const nodes = targets.map((target) => {
    const { hostname, port } = new URL(target);
    return { host: hostname, port: Number(port) };
  });
  const open = new Set<Socket>();
  let next = 0;

  const server = createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.pause();
    connect(client, 0);
  });

  /** Pipes `client` to the next node, trying each node once before giving up. */
  function connect(client: Socket, tried: number): void {
    if (tried === nodes.length) {
      client.destroy();
      return;
    }
    const node = nodes[next % nodes.length]!;
    next += 1;
    const upstream = createConnection(node);
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    upstream.once('connect', () => {
      upstream.off('error', retry);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    const retry = () => connect(client, tried + 1);
    upstream.once('error', retry);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
