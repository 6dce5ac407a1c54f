#!/usr/bin/env node
// The whole test suite, as `pnpm test` and CI run it: lint, typecheck, build, every package's tests
// and the published-package checks, then one table of package x task results.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { printSnippetCheck, runSnippetCheck } from './check-snippets.mjs';
import { ensurePythonDeps } from './ensure-python-deps.mjs';
import { ensureSystemDeps } from './ensure-system-deps.mjs';
import { failureDigest } from './failure-digest.mjs';
import {
  ADAPTERS,
  EXTRA_NODE_MAJORS,
  RUNTIME_ADAPTERS,
  RUNTIMES,
  runNodeMatrix,
} from './node-matrix.mjs';
import { runPackInstall } from './pack-install.mjs';
import { runTurboTasks } from './turbo-tasks.mjs';

const root = new URL('..', import.meta.url).pathname;

/** What the Bun and Deno columns say for a server that is not built on the Fetch API. */
const NOT_A_FETCH_SERVER = {
  'node-http': 'n/a: node:http',
  fastify: 'n/a: node:http',
  koa: 'n/a: node:http',
  express: 'n/a: node:http',
  uws: 'n/a: Node addon',
};

const started = Date.now();

function run(title, command, args) {
  console.log(`\n=== ${title}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  return result.status === 0;
}

const bin = (name) => join(root, 'node_modules', '.bin', name);

// The encoder's property tests run 100,000 random events in the full suite (2,000 by default).
process.env.FUZZ_RUNS ??= '100000';

console.log('=== system packages the tests need: chromium, redis-server, nginx, haproxy');
ensureSystemDeps(['chromium', 'redis-server', 'nginx', 'haproxy']);
console.log('=== Python packages the lenient-client tests drive: httpx, httpx-sse');
ensurePythonDeps();

const lintOk = run('lint and format', bin('biome'), ['ci', '.']);
const turbo = await runTurboTasks(
  bin('turbo'),
  [
    'run',
    'typecheck',
    'test',
    'check-exports',
    '--continue',
    '--summarize',
    '--concurrency=2',
    '--output-logs=new-only',
  ],
  root,
);
const turboOk = turbo.ok;

const node20 = printSummary(turbo.outputs);
const matrix = await runNodeMatrix(root);
const packed = runPackInstall(root);
const { ok: matrixOk, gaps } = printMatrix(node20, matrix, packed.results);
console.log('\n=== README and JSDoc TypeScript snippets: strict tsc on the packed packages');
const snippets = runSnippetCheck(root);
const snippetsOk = printSnippetCheck(snippets);
printTable(
  `TypeScript snippets (${snippets.snippets}, README and JSDoc), strict tsc, skipLibCheck: false`,
  ['npm install (no EBADENGINE)', 'ESM nodenext', 'CJS node16'],
  [[snippets.results.install ?? '-', snippets.results.ESM ?? '-', snippets.results.CJS ?? '-']],
);
printFailures(node20, matrix, packed.failures, gaps, { lintOk, turboOk });
if (!snippetsOk) {
  console.log('--- TypeScript snippets (node scripts/check-snippets.mjs)');
  for (const error of snippets.errors.slice(0, 25)) console.log(error);
}
const seconds = Math.round((Date.now() - started) / 1000);
const ok = lintOk && turboOk && matrixOk && snippetsOk;
console.log(`\n${ok ? 'ALL PASSED' : 'FAILED'} in ${seconds} s`);
process.exit(ok ? 0 : 1);

/** The table of package x task results; `outputs` holds what each task printed, by task id. */
function printSummary(outputs) {
  const runsDir = join(root, '.turbo', 'runs');
  let files;
  try {
    files = readdirSync(runsDir).filter((f) => f.endsWith('.json'));
  } catch {
    console.log('(no turbo run summary found)');
    return new Map();
  }
  const newest = files
    .map((f) => join(runsDir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  const summary = JSON.parse(readFileSync(newest, 'utf8'));
  const tasks = ['typecheck', 'build', 'test', 'check-exports'];
  const rows = new Map();
  for (const task of summary.tasks ?? []) {
    const exitCode = task.execution?.exitCode;
    const status =
      exitCode === 0 ? 'pass' : exitCode === undefined || exitCode === null ? 'not run' : 'FAIL';
    if (!rows.has(task.package)) rows.set(task.package, { logs: {} });
    rows.get(task.package)[task.task] =
      task.cache?.status === 'HIT' && exitCode === 0 ? 'pass (cached)' : status;
    if (status === 'FAIL') {
      rows.get(task.package).logs[task.task] =
        outputs.get(task.taskId) ?? `(exit code ${exitCode}; none of its output was captured)`;
    }
  }
  const header = ['package', ...tasks];
  const lines = [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pkg, results]) => [pkg, ...tasks.map((t) => results[t] ?? '-')]);
  printTable('Results by package (Node ' + process.versions.node + ')', header, lines);
  return rows;
}

/**
 * Repeats, at the very end, everything that failed and its first error lines: CI shows only the
 * tail of this output, so nothing that fails may go unnamed here.
 */
function printFailures(rows, { failures }, packFailures, gaps, { lintOk, turboOk }) {
  const sections = gaps.map((gap) => [gap, 'Error: this cell of the matrix has no result']);
  if (!lintOk) sections.push(['lint and format', 'Error: biome ci . failed; run `npx biome ci .`']);
  let turboNamed = false;
  for (const [pkg, results] of rows) {
    for (const task of ['typecheck', 'build', 'test', 'check-exports']) {
      const status = results[task];
      if (status === undefined || status.startsWith('pass') || results.logs[task]) continue;
      turboNamed = true;
      sections.push([
        `${pkg} ${task} (Node ${process.versions.node})`,
        `Error: ${status}: turbo recorded no exit code (killed by a signal, or a task it depends on failed)`,
      ]);
    }
    for (const [task, text] of Object.entries(results.logs)) {
      turboNamed = true;
      sections.push([`${pkg} ${task} (Node ${process.versions.node})`, text]);
    }
  }
  for (const { adapter, major, output } of failures) {
    const where = typeof major === 'number' ? `Node ${major}` : RUNTIMES[major].title;
    sections.push([`@sse-middleware/${adapter} test (${where})`, output]);
  }
  for (const { adapter, output } of packFailures) {
    sections.push([`@sse-middleware/${adapter} packed, npm-installed quickstart`, output]);
  }
  if (!turboOk && !turboNamed) {
    sections.push([
      'turbo run typecheck test check-exports',
      'Error: turbo exited non-zero but its run summary names no failed task; see its output above',
    ]);
  }
  if (sections.length === 0) return;
  const disk = statfsSync(root);
  console.log(
    `\nWhat failed (free now: ${gib(disk.bavail * disk.bsize)} GiB of disk, ${gib(freemem())} GiB of memory)`,
  );
  for (const [title, text] of sections) {
    console.log(`--- ${title}`);
    for (const line of failureDigest(text)) console.log(line);
  }
}

function gib(bytes) {
  return (bytes / 2 ** 30).toFixed(1);
}

function printTable(title, header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(fmt(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(fmt(line));
}

/**
 * Prints the server x Node version x runtime table; `ok` is false when any cell failed or has no
 * result, and `gaps` names the cells without one.
 */
function printMatrix(node20Rows, { results, notes }, installed) {
  const header = [
    'server',
    `Node ${process.versions.node.split('.')[0]}`,
    ...EXTRA_NODE_MAJORS.map((m) => `Node ${m}`),
    ...Object.values(RUNTIMES).map((r) => r.title),
    'packed, npm-installed quickstart',
  ];
  let ok = true;
  const gaps = [];
  const lines = ADAPTERS.filter((a) => node20Rows.has(`@sse-middleware/${a}`)).map((adapter) => {
    const own = node20Rows.get(`@sse-middleware/${adapter}`)?.test ?? '-';
    const onRuntimes = Object.keys(RUNTIMES).map((name) =>
      RUNTIME_ADAPTERS.includes(adapter)
        ? (results[adapter]?.[name] ?? '-')
        : (NOT_A_FETCH_SERVER[adapter] ?? 'not run'),
    );
    const cells = [
      own,
      ...EXTRA_NODE_MAJORS.map((m) => results[adapter]?.[m] ?? '-'),
      ...onRuntimes,
      installed[adapter] ?? '-',
    ];
    cells.forEach((cell, i) => {
      if (cell === '-' || cell === 'not run')
        gaps.push(`${adapter}, column "${header[i + 1]}": ${cell}`);
    });
    const counted = cells.filter((c) => !Object.values(NOT_A_FETCH_SERVER).includes(c));
    if (counted.some((c) => c.startsWith('FAIL') || c === '-' || c === 'not run')) ok = false;
    return [adapter, ...cells];
  });
  printTable('Conformance by server and Node version', header, lines);
  for (const note of notes) console.log(`  note: ${note}`);
  console.log(
    '  note: Bun and Deno run the servers built on the Fetch API (hono, fetch); the others are node:http or uWS servers (n/a)',
  );
  return { ok, gaps };
}
