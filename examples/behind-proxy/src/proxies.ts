import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, http1, http1AcceptGzip, http1Gzip, http2Cleartext } from './clients.js';
import { freePort, type Running, run, waitForPort } from './processes.js';

/** The proxies this package knows how to start, each from its template in `config/`. */
export const PROXIES = {
  nginx: {
    debianPackage: 'nginx',
    binary: '/usr/sbin/nginx',
    template: 'nginx.conf',
    args: (dir: string, config: string) => [
      '-p',
      dir,
      '-e',
      join(dir, 'error.log'),
      '-c',
      config,
      '-g',
      'daemon off;',
    ],
  },
  haproxy: {
    debianPackage: 'haproxy',
    binary: '/usr/sbin/haproxy',
    template: 'haproxy.cfg',
    args: (_dir: string, config: string) => ['-f', config, '-db'],
  },
  apache: {
    debianPackage: 'apache2',
    binary: '/usr/sbin/apache2',
    template: 'apache.conf',
    args: (_dir: string, config: string) => ['-f', config, '-DFOREGROUND'],
  },
  caddy: {
    debianPackage: 'caddy',
    binary: '/usr/bin/caddy',
    template: 'Caddyfile',
    args: (_dir: string, config: string) => ['run', '--config', config, '--adapter', 'caddyfile'],
  },
  varnish: {
    debianPackage: 'varnish',
    binary: '/usr/sbin/varnishd',
    template: 'varnish.vcl',
    args: (dir: string, config: string, listenPort: number) => [
      '-F',
      '-n',
      join(dir, 'varnish'),
      '-a',
      `127.0.0.1:${listenPort}`,
      '-f',
      config,
      '-s',
      'malloc,16m',
    ],
  },
} as const;

export type ProxyName = keyof typeof PROXIES;

/** The proxies `pnpm test` runs the examples behind (installed by scripts/ensure-system-deps.mjs). */
export const TESTED_PROXIES = ['nginx', 'haproxy'] as const satisfies readonly ProxyName[];

/** The proxies only `check-proxies` runs (installed by hand). */
export const HAND_CHECKED_PROXIES = [
  'apache',
  'caddy',
  'varnish',
] as const satisfies readonly ProxyName[];

export const CONFIG_DIR = fileURLToPath(new URL('../config/', import.meta.url));

export interface ProxyOptions {
  /** The example's port on 127.0.0.1. */
  upstreamPort: number;
  /** Every idle timeout of the proxy, in whole seconds. */
  idleTimeoutSeconds: number;
  /** Changes the filled-in configuration before it is written (e.g. to drop one line). */
  transform?: (config: string) => string;
}

export interface RunningProxy {
  readonly name: ProxyName;
  /** Where clients reach the example through the proxy, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The configuration it runs, as written. */
  readonly config: string;
  readonly process: Running;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** Throws, saying what to install, unless the proxy's binary is there. */
export function requireBinary(name: ProxyName): string {
  const { binary, debianPackage } = PROXIES[name];
  if (existsSync(binary)) return binary;
  const how = TESTED_PROXIES.includes(name as (typeof TESTED_PROXIES)[number])
    ? `install it with \`node scripts/ensure-system-deps.mjs ${debianPackage}\` (as root on Debian; \`pnpm test\` does it) or \`sudo apt-get install -y ${debianPackage}\``
    : `install it with \`sudo apt-get install -y ${debianPackage}\``;
  throw new Error(`${name} is not installed: ${binary} is missing; ${how}.`);
}

/** Fills in a template from `config/`; every `{{NAME}}` must have a value. */
export async function renderConfig(
  template: string,
  values: Record<string, string | number>,
): Promise<string> {
  const text = await readFile(join(CONFIG_DIR, template), 'utf8');
  const filled = text.replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) =>
    key in values ? String(values[key]) : whole,
  );
  // The comments name the placeholders; only a placeholder left in a directive is an error.
  const unfilled = filled
    .split('\n')
    .filter((line) => !/^\s*#/.test(line) && /\{\{[A-Z_]+\}\}/.test(line));
  if (unfilled.length > 0) {
    throw new Error(`${template}: no value for ${unfilled.join(' / ')}`);
  }
  return filled;
}

/**
 * Starts `name` in the foreground on a free 127.0.0.1 port, in front of `upstreamPort`, with its
 * configuration from `config/` in a new temporary directory (pid, logs and state files too), and
 * resolves once it accepts connections.
 */
export async function startProxy(name: ProxyName, options: ProxyOptions): Promise<RunningProxy> {
  const spec = PROXIES[name];
  const binary = requireBinary(name);
  const dir = await mkdtemp(join(tmpdir(), `sse-behind-${name}-`));
  // Proxies drop privileges for their workers (nobody, www-data, vcache): let them in.
  await chmod(dir, 0o755);
  const listenPort = await freePort();
  const values = {
    LISTEN_PORT: listenPort,
    UPSTREAM_PORT: options.upstreamPort,
    RUN_DIR: dir,
    IDLE_TIMEOUT: `${options.idleTimeoutSeconds}s`,
    IDLE_TIMEOUT_SECONDS: options.idleTimeoutSeconds,
  };
  let config = await renderConfig(spec.template, values);
  if (options.transform) config = options.transform(config);
  const configPath = join(dir, spec.template);
  await writeFile(configPath, config);
  const child = run(binary, spec.args(dir, configPath, listenPort), {
    cwd: dir,
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  const stop = async () => {
    await child.stop('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(listenPort, child, name, 30_000);
  } catch (error) {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`${(error as Error).message}${log ? `\nerror.log:\n${log}` : ''}`);
  }
  return { name, url: `http://127.0.0.1:${listenPort}`, config, process: child, stop };
}

/** Replaces `pattern` in a configuration, failing loudly when the template no longer has it. */
const edit =
  (template: string, ...edits: [RegExp, string][]) =>
  (config: string): string =>
    edits.reduce((text, [pattern, replacement]) => {
      if (!pattern.test(text)) throw new Error(`${template} no longer matches ${pattern}`);
      return text.replace(pattern, replacement);
    }, config);

/** `haproxy.cfg` without its `option http-no-delay` line: what stock HAProxy does. */
export const withoutHttpNoDelay = edit('haproxy.cfg', [/^\s*option http-no-delay\s*\n/m, '']);

/** A proxy with its configuration as documented, or with one documented alternative. */
export interface Setup {
  readonly proxy: ProxyName;
  /** What differs from the template, for messages. */
  readonly change: string;
  readonly transform?: (config: string) => string;
  /** The client the checks use through it. */
  readonly client: Client;
}

export const SETUPS = {
  ...(Object.fromEntries(
    Object.keys(PROXIES).map((proxy) => [
      proxy,
      { proxy, change: `config/${PROXIES[proxy as ProxyName].template} as is`, client: http1 },
    ]),
  ) as Record<ProxyName, Setup>),
  'haproxy-without-no-delay': {
    proxy: 'haproxy',
    change: 'haproxy.cfg without `option http-no-delay` (stock HAProxy)',
    transform: withoutHttpNoDelay,
    client: http1,
  },
  'nginx-gzip': {
    proxy: 'nginx',
    change:
      'nginx.conf with gzip on for /events too (gzip_types text/event-stream), client asks for gzip',
    transform: edit(
      'nginx.conf',
      [/^(\s*)gzip off;$/m, '$1gzip on;'],
      [
        /gzip_types text\/plain application\/json;/,
        'gzip_types text/plain application/json text/event-stream;',
      ],
    ),
    client: http1Gzip,
  },
  'nginx-http2': {
    proxy: 'nginx',
    change: 'nginx.conf listening with HTTP/2 (h2c, prior knowledge) towards clients',
    transform: edit('nginx.conf', [/^(\s*listen 127\.0\.0\.1:\d+);$/m, '$1 http2;']),
    client: http2Cleartext,
  },
  'nginx-default-buffering': {
    proxy: 'nginx',
    change: 'nginx.conf without `proxy_buffering off` (the X-Accel-Buffering: no header alone)',
    transform: edit('nginx.conf', [/^\s*proxy_buffering off;\n/m, '']),
    client: http1,
  },
  'apache-deflate': {
    proxy: 'apache',
    change: 'apache.conf with mod_deflate on the stream too, client asks for gzip',
    transform: edit(
      'apache.conf',
      [/^SetEnvIf Request_URI "\^\/events" no-gzip\n/m, ''],
      [/^(AddOutputFilterByType DEFLATE .*)$/m, '$1 text/event-stream'],
    ),
    client: http1Gzip,
  },
  'caddy-encode': {
    proxy: 'caddy',
    change:
      'Caddyfile with `encode gzip` on the stream too, client asks for gzip (takes what comes)',
    transform: edit('Caddyfile', [/encode @not_events gzip/, 'encode gzip']),
    client: http1AcceptGzip,
  },
  'varnish-pipe': {
    proxy: 'varnish',
    change: 'varnish.vcl piping /events (`return (pipe)`) instead of passing it',
    transform: edit('varnish.vcl', [
      /return \(pass\);\n {2}\}\n {2}if \(req\.method == "POST"\)/,
      'return (pipe);\n  }\n  if (req.method == "POST")',
    ]),
    client: http1,
  },
  'varnish-gzip': {
    proxy: 'varnish',
    change: 'varnish.vcl with beresp.do_gzip = true on the stream, client asks for gzip',
    transform: edit('varnish.vcl', [/set beresp\.do_gzip = false;/, 'set beresp.do_gzip = true;']),
    client: http1Gzip,
  },
} satisfies Record<string, Setup>;

export type SetupName = keyof typeof SETUPS;
