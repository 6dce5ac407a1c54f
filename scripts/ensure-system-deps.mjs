// Makes sure the Debian packages the tests need are installed (Chromium for the browser tests,
// later redis-server). On Debian as root it installs what is missing with apt-get; anywhere else it
// stops with a message saying how to get them. Run: node scripts/ensure-system-deps.mjs chromium
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Debian package name → the file that proves it is installed. */
const PACKAGES = {
  chromium: '/usr/bin/chromium',
  'redis-server': '/usr/bin/redis-server',
  nginx: '/usr/sbin/nginx',
  haproxy: '/usr/sbin/haproxy',
};

export function ensureSystemDeps(names) {
  const missing = names.filter((name) => {
    if (!(name in PACKAGES)) throw new Error(`unknown system dependency ${name}`);
    return !existsSync(PACKAGES[name]);
  });
  if (missing.length === 0) return;
  const isDebian =
    existsSync('/etc/debian_version') || /ID(_LIKE)?=.*debian/.test(safeRead('/etc/os-release'));
  const isRoot = process.getuid?.() === 0;
  if (!isDebian || !isRoot) {
    throw new Error(
      `The tests need ${missing.join(' and ')} (${missing.map((m) => PACKAGES[m]).join(', ')}), which is missing. ` +
        (isDebian
          ? `Install it with: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`
          : `Install it with your system's package manager (Debian/Ubuntu: apt-get install -y ${missing.join(' ')}).`),
    );
  }
  console.log(`=== installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...missing]]) {
    const run = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (run.status !== 0)
      throw new Error(`apt-get ${args.join(' ')} failed with exit code ${run.status}`);
  }
  const still = missing.filter((name) => !existsSync(PACKAGES[name]));
  if (still.length > 0)
    throw new Error(`apt-get reported success but ${still.join(', ')} is still missing`);
}

function safeRead(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureSystemDeps(process.argv.slice(2));
  } catch (error) {
    console.error(String(error instanceof Error ? error.message : error));
    process.exit(1);
  }
}
