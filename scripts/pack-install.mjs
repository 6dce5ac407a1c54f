// Proves a user needs only @sse-middleware/core and one adapter: packs both with `pnpm pack`,
// installs the tarballs with npm into a fresh project outside the workspace, and runs that
// adapter's quickstart there (scripts/quickstarts/<adapter>.mjs) against a real EventSource client.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a user of each adapter installs from the registry besides our two packages. */
const FRAMEWORK_DEPS = {
  'node-http': [],
  fastify: ['fastify@5'],
  koa: ['koa@3'],
  hono: ['hono@4', '@hono/node-server@2'],
  uws: ['uWebSockets.js@npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0'],
  fetch: ['@hono/node-server@2'],
  express: ['express@5'],
};

/** Our other packages an adapter depends on: packed too, as npm would fetch them from the registry. */
const OUR_DEPS = { express: ['node-http'] };

function sh(command, args, cwd) {
  const run = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${run.stdout}\n${run.stderr}`);
  }
  return run.stdout;
}

/**
 * `npm install` in `cwd`, once more if the registry failed it: a download cut off is the network's
 * failure, not the package's, and the second attempt's error is the one reported. Said in the log.
 */
function installFromRegistry(args, cwd) {
  try {
    sh('npm', args, cwd);
  } catch (error) {
    if (!/ECONNRESET|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|socket hang up|network/i.test(String(error)))
      throw error;
    console.log(`npm install failed on the network; trying once more:\n${error.message}`);
    sh('npm', args, cwd);
  }
}

function pack(root, packageDir, outDir) {
  const before = new Set(readdirSync(outDir));
  sh(
    join(root, 'node_modules', '.bin', 'pnpm'),
    ['pack', '--pack-destination', outDir],
    join(root, 'packages', packageDir),
  );
  const created = readdirSync(outDir).filter((f) => !before.has(f) && f.endsWith('.tgz'));
  if (created.length !== 1)
    throw new Error(
      `pnpm pack in packages/${packageDir} produced ${created.join(', ') || 'nothing'}`,
    );
  return join(outDir, created[0]);
}

/**
 * Returns { results: { [adapter]: 'pass' | 'FAIL' }, failures: [{ adapter, output }] } for every
 * adapter that has a quickstart.
 */
export function runPackInstall(root) {
  const packs = join(root, '.tmp', 'packs');
  rmSync(packs, { recursive: true, force: true });
  mkdirSync(packs, { recursive: true });
  const core = pack(root, 'core', packs);
  /** Tarballs by package folder: a package another depends on is packed once. */
  const tarballs = new Map();
  const packOnce = (dir) => {
    if (!tarballs.has(dir)) tarballs.set(dir, pack(root, dir, packs));
    return tarballs.get(dir);
  };
  const results = {};
  const failures = [];
  for (const [adapter, deps] of Object.entries(FRAMEWORK_DEPS)) {
    const quickstart = join(root, 'scripts', 'quickstarts', `${adapter}.mjs`);
    if (!existsSync(join(root, 'packages', adapter)) || !existsSync(quickstart)) continue;
    console.log(`\n=== ${adapter}: pnpm pack, npm install in a fresh project, run the quickstart`);
    const project = mkdtempSync(join(tmpdir(), `sse-${adapter}-`));
    try {
      const tarball = packOnce(adapter);
      const ours = (OUR_DEPS[adapter] ?? []).map(packOnce);
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'quickstart', private: true, type: 'module' }),
      );
      installFromRegistry(
        ['install', '--no-audit', '--no-fund', core, ...ours, tarball, ...deps, 'undici@7'],
        project,
      );
      copyFileSync(quickstart, join(project, 'quickstart.mjs'));
      copyFileSync(
        join(root, 'scripts', 'quickstarts', 'first-event.mjs'),
        join(project, 'first-event.mjs'),
      );
      const esm = spawnSync(process.execPath, ['quickstart.mjs'], {
        cwd: project,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const cjs = spawnSync(
        process.execPath,
        [
          '-e',
          `for (const entry of ['', '/adapter', '/node']) require('@sse-middleware/core' + entry); require('@sse-middleware/${adapter}'); console.log('require ok')`,
        ],
        { cwd: project, encoding: 'utf8' },
      );
      const output = [
        `quickstart.mjs exited with ${esm.status ?? esm.signal ?? esm.error}`,
        esm.stdout,
        esm.stderr,
        `require() exited with ${cjs.status ?? cjs.signal ?? cjs.error}`,
        cjs.stdout,
        cjs.stderr,
      ].join('\n');
      console.log(output.trim());
      results[adapter] = esm.status === 0 && cjs.status === 0 ? 'pass' : 'FAIL';
      if (results[adapter] !== 'pass') failures.push({ adapter, output });
    } catch (error) {
      console.log(String(error));
      results[adapter] = 'FAIL';
      failures.push({ adapter, output: `Error: ${error.message}` });
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }
  return { results, failures };
}
