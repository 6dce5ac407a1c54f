/** Where an example listens: `PORT` (default 3000) on `HOST` (default 127.0.0.1). */
export function listenAddress(env: NodeJS.ProcessEnv = process.env): {
  port: number;
  host: string;
} {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `PORT must be an integer from 0 to 65535, received ${JSON.stringify(env.PORT)}`,
    );
  }
  return { port, host: env.HOST || '127.0.0.1' };
}

/**
 * Prints where example `name` listens and the curl commands that try its routes (the tests read
 * the first line).
 */
export function announceListening(name: string, url: string): void {
  console.log(`${name} example listening on ${url}`);
  console.log(`  curl -N "${url}/?stream=true"`);
  console.log(`  curl -N "${url}/app/metrics?stream=true"`);
  console.log(`  curl -N "${url}/score"`);
  console.log(`  curl -N "${url}/events"   and   curl -d 'hello' "${url}/publish"`);
}

/** Closes a node:http server with its idle keep-alive connections (its streams already ended). */
export function closeNodeServer(server: {
  closeAllConnections(): void;
  close(callback: () => void): unknown;
}): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** What the kit itself opened and closes on shutdown, after the app's own `stop`. */
const closers = new Set<() => Promise<void>>();

/** Has {@link onShutdown} close `close` (the example channel's Redis connections) after `stop`. */
export function closeOnShutdown(close: () => Promise<void>): void {
  closers.add(close);
}

/**
 * Runs `stop` once on Ctrl+C or SIGTERM, then closes what the kit opened (the Redis store of the
 * example channel, when `REDIS_URL` is set), then exits.
 */
export function onShutdown(stop: () => Promise<void> | void): void {
  let stopping = false;
  const handler = async () => {
    if (stopping) return;
    stopping = true;
    await stop();
    await Promise.allSettled([...closers].map((close) => close()));
    process.exit(0);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
