// Starts a real redis-server for the Redis tests and the cluster example: on a random port in a
// high range, bound to 127.0.0.1, with every write fsynced to an append-only file in its own
// directory, so a crash loses nothing Redis acknowledged (the benchmark asks for Redis's default,
// `appendfsync everysec`, instead). Types: redis-server.d.mts.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const LOWEST_PORT = 20_000;
const HIGHEST_PORT = 65_535;
const PORT_ATTEMPTS = 20;
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** The redis-server executable on PATH (or in the usual Debian places), or a clear error. */
export function findRedisServer() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    'redis-server was not found on PATH. The Redis tests and the cluster example start a real one. ' +
      'On Debian or Ubuntu, as root: node scripts/ensure-system-deps.mjs redis-server ' +
      '(or: sudo apt-get install -y redis-server). Elsewhere install Redis 6.2 or later with your ' +
      'package manager (macOS: brew install redis) so that redis-server is on PATH.',
  );
}

/**
 * Starts redis-server and resolves once it accepts connections.
 * @param {{ port?: number; dir?: string; appendfsync?: 'always' | 'everysec' }} [options] a fixed
 *   port (else a random free one), data directory (else a new temporary one, removed by `stop()`)
 *   and when the append-only file is fsynced (default 'always': every write).
 */
export async function startRedisServer(options = {}) {
  const binary = findRedisServer();
  const appendfsync = options.appendfsync ?? 'always';
  if (appendfsync !== 'always' && appendfsync !== 'everysec') {
    throw new TypeError(`appendfsync must be 'always' or 'everysec', received ${appendfsync}`);
  }
  const launch = (port, dir) => launchRedis(binary, port, dir, appendfsync);
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sse-redis-'));
  let child;
  let port = options.port;
  if (port !== undefined) child = await launch(port, dir);
  else {
    for (let attempt = 1; child === undefined; attempt += 1) {
      const [low, high] = listeningPortRange();
      const candidate = low + Math.floor(Math.random() * (high - low + 1));
      try {
        child = await launch(candidate, dir);
        port = candidate;
      } catch (error) {
        // The server binds the port itself, so a taken port is an error here, never a race.
        if (!(error instanceof PortTakenError) || attempt === PORT_ATTEMPTS) {
          if (ownsDir) rmSync(dir, { recursive: true, force: true });
          throw error;
        }
      }
    }
  }

  const server = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child.pid;
    },
    /** Stops Redis gracefully (SIGTERM, SIGKILL after 10 s) and removes its directory if it made it. */
    async stop() {
      await terminate(child, 'SIGTERM');
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
    /** Crashes Redis (SIGKILL): what it had not fsynced is lost; its directory stays for `restart()`. */
    async kill() {
      await terminate(child, 'SIGKILL');
    },
    /** Starts Redis again on the same port and directory, once it has been stopped or killed. */
    async restart() {
      if (child.exitCode === null && child.signalCode === null) {
        throw new Error(`redis-server on port ${port} is still running: stop or kill it first`);
      }
      child = await launch(port, dir);
    },
  };
  return server;
}

/**
 * Where a restartable Redis may listen: below or above the kernel's ephemeral range. While Redis is
 * down, its clients keep connecting to its port; a port in the ephemeral range can be handed to one
 * of those connections as its own source port (TCP connects to itself), and Redis then cannot
 * start again on it.
 */
export function listeningPortRange() {
  let ephemeral = [32_768, 60_999];
  try {
    const text = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const [first, last] = text.trim().split(/\s+/).map(Number);
    if (Number.isInteger(first) && Number.isInteger(last)) ephemeral = [first, last];
  } catch {
    // not Linux: keep the default range's bounds
  }
  const below = [LOWEST_PORT, ephemeral[0] - 1];
  const above = [ephemeral[1] + 1, HIGHEST_PORT];
  const size = ([low, high]) => high - low + 1;
  const widest = size(below) >= size(above) ? below : above;
  return size(widest) >= 1_000 ? widest : [LOWEST_PORT, HIGHEST_PORT];
}

class PortTakenError extends Error {}

/** Spawns redis-server on `port` and resolves with the process once it is ready. */
function launchRedis(binary, port, dir, appendfsync) {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    appendfsync,
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--loglevel',
    'notice',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      finish();
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not get ready in ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        finish();
        child.stdout.resume();
        child.stderr.resume();
        resolve(child);
      }
    };
    const onExit = (code, signal) => {
      finish();
      const Failure = /address already in use/i.test(output) ? PortTakenError : Error;
      reject(
        new Failure(`redis-server exited (${signal ?? code}) before it was ready:\n${output}`),
      );
    };
    const onError = (error) => {
      finish();
      reject(error);
    };
    function finish() {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Sends `signal` and resolves once the process has exited (SIGKILL after a timeout). */
function terminate(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    // 'close' comes after 'exit' once stdio is closed too: then nothing of the process is left.
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
