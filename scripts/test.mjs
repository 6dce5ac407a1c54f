#!/usr/bin/env node
// The whole test suite, as `pnpm test` and CI run it: lint, typecheck, build, every package's tests
// and the published-package checks, then one table of package x task results.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const started = Date.now();

function run(title, command, args) {
  console.log(`\n=== ${title}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  return result.status === 0;
}

const bin = (name) => join(root, 'node_modules', '.bin', name);

const lintOk = run('lint and format', bin('biome'), ['ci', '.']);
const turboOk = run('typecheck, build, test, check-exports', bin('turbo'), [
  'run',
  'typecheck',
  'test',
  'check-exports',
  '--continue',
  '--summarize',
  '--concurrency=2',
  '--output-logs=new-only',
]);

printSummary();
const seconds = Math.round((Date.now() - started) / 1000);
const ok = lintOk && turboOk;
console.log(`\n${ok ? 'ALL PASSED' : 'FAILED'} in ${seconds} s`);
process.exit(ok ? 0 : 1);

function printSummary() {
  const runsDir = join(root, '.turbo', 'runs');
  let files;
  try {
    files = readdirSync(runsDir).filter((f) => f.endsWith('.json'));
  } catch {
    console.log('(no turbo run summary found)');
    return;
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
    if (!rows.has(task.package)) rows.set(task.package, {});
    rows.get(task.package)[task.task] =
      task.cache?.status === 'HIT' && exitCode === 0 ? 'pass (cached)' : status;
  }
  const header = ['package', ...tasks];
  const lines = [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pkg, results]) => [pkg, ...tasks.map((t) => results[t] ?? '-')]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log('\nResults');
  console.log(fmt(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(fmt(line));
}
