import { type RedisServer, startRedisServer } from '../../../scripts/redis-server.mjs';
import { CLUSTER_SERVERS, type ClusterNode, type ClusterServer, startNode } from './nodes.js';

/** Redis and the three nodes that share it. */
export interface Cluster {
  readonly redis: RedisServer;
  readonly nodes: readonly ClusterNode[];
  /** Stops the nodes (each ends its streams and closes its Redis connections), then Redis. Idempotent. */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Told each line a node prints. */
  onLine?: (server: ClusterServer, line: string) => void;
}

/**
 * Starts a real redis-server on a free port of 127.0.0.1, then the node:http, Koa and
 * uWebSockets.js examples on it, each in its own process with `REDIS_URL` set.
 *
 * ```ts
 * const cluster = await startCluster();
 * for (const node of cluster.nodes) console.log(node.server, node.url);
 * await cluster.stop();
 * ```
 */
export async function startCluster({ onLine }: StartClusterOptions = {}): Promise<Cluster> {
  const redis = await startRedisServer();
  const started = await Promise.allSettled(
    CLUSTER_SERVERS.map((server) =>
      startNode(server, { redisUrl: redis.url, onLine: (line) => onLine?.(server, line) }),
    ),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
  };
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { redis, nodes, stop };
}
