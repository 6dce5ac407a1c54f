/** A redis-server started by {@link startRedisServer}. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Its data directory (the append-only file lives here). */
  readonly dir: string;
  /** The running process's id. */
  readonly pid: number | undefined;
  /** Stops Redis gracefully (SIGTERM, SIGKILL after 10 s) and removes its directory if it made it. */
  stop(): Promise<void>;
  /** Crashes Redis (SIGKILL): what it had not fsynced is lost; its directory stays for `restart()`. */
  kill(): Promise<void>;
  /** Starts Redis again on the same port and directory, once it has been stopped or killed. */
  restart(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** A fixed port; default a random free one outside the kernel's ephemeral range. */
  port?: number;
  /** The data directory; default a new temporary one, removed by `stop()`. */
  dir?: string;
  /**
   * When the append-only file is fsynced: `'always'` (default) after every write, so a crash
   * loses nothing acknowledged; `'everysec'` once a second, Redis's own default.
   */
  appendfsync?: 'always' | 'everysec';
}

/** The redis-server executable, or an error saying how to install it. */
export function findRedisServer(): string;

/**
 * Starts a real redis-server on 127.0.0.1 with `--appendonly yes --appendfsync always` (or the
 * `appendfsync` given) and resolves once it accepts connections.
 *
 * ```ts
 * const redis = await startRedisServer();
 * // … redis.url …
 * await redis.stop();
 * ```
 */
export function startRedisServer(options?: StartRedisServerOptions): Promise<RedisServer>;

/**
 * The ports a restartable server may take, `[low, high]`: outside the kernel's ephemeral range
 * (20000 to 32767 by default on Linux), so no client's own connection can take the port while the
 * server is down.
 */
export function listeningPortRange(): [number, number];
