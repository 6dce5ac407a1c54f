// Runs turbo with its output streamed as usual, and keeps each task's lines apart: tasks that are
// not cached leave no log file behind, and the final report must quote what a failing task printed.
import { spawn } from 'node:child_process';

const ANSI = /\x1b\[[0-9;]*m/g;
const TASK_PREFIX = /^(\S+?)[:#]([\w-]+): /;
const KEPT_PER_TASK = 2_000_000;

/**
 * Resolves with turbo's exit status and a map from `package#task` to the text that task printed
 * (the last `KEPT_PER_TASK` characters of it).
 */
export function runTurboTasks(turbo, args, cwd) {
  console.log(`\n=== typecheck, build, test, check-exports: ${turbo} ${args.join(' ')}`);
  const outputs = new Map();
  const child = spawn(turbo, args, { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (stream, sink) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      sink.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) record(outputs, line);
    });
    stream.on('end', () => partial && record(outputs, partial));
  };
  keep(child.stdout, process.stdout);
  keep(child.stderr, process.stderr);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`could not start turbo: ${error.message}`);
      resolve({ ok: false, outputs });
    });
    child.on('close', (code) => resolve({ ok: code === 0, outputs }));
  });
}

function record(outputs, line) {
  const match = TASK_PREFIX.exec(line.replace(ANSI, ''));
  if (!match) return;
  const id = `${match[1]}#${match[2]}`;
  const text = `${outputs.get(id) ?? ''}${line.replace(ANSI, '').slice(match[0].length)}\n`;
  outputs.set(id, text.length > KEPT_PER_TASK ? text.slice(-KEPT_PER_TASK) : text);
}
