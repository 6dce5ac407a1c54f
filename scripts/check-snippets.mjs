#!/usr/bin/env node
// Type-checks every TypeScript example a user can copy: the ```ts blocks of README.md and
// packages/*/README.md, and the ```ts blocks in the JSDoc of packages/*/src/**/*.ts. Each becomes
// one module of two fresh projects outside the workspace, as strict as a user's can be (`strict`,
// `noUncheckedIndexedAccess`, `exactOptionalPropertyTypes`, `skipLibCheck: false`, @types/node@20,
// no DOM lib): one ESM (`module: nodenext`, `verbatimModuleSyntax`), one CommonJS (`module: node16`).
//
// The projects resolve our packages from the tarballs `pnpm pack` makes (the packages must be
// built), installed with npm next to the frameworks a user installs: so the snippets compile
// against exactly what a user gets (the `files` list, the `exports` conditions, the .d.ts and
// .d.cts, the dependencies), and the install itself must not warn `EBADENGINE` on this Node.
//
// A snippet that needs context (a `handler` it wraps, an `app` it registers on) names it in its
// fence: ```ts context=node-handler,koa-app. Each context is a file in scripts/snippet-contexts/,
// prepended to the snippet: `declare` statements with exact types only (no `any`, no imports,
// no `@ts-` directives; this script refuses them), so a context cannot hide an error. A snippet
// may show that something is a compile error with `// @ts-expect-error`: tsc fails if it is not.
//
// Usage: node scripts/check-snippets.mjs (after a build). Exit code 0 when every snippet compiles.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Our packages a snippet may import, and what a user installs besides them. */
const PACKAGES = [
  'core',
  'node-http',
  'fastify',
  'koa',
  'hono',
  'uws',
  'redis',
  'fetch',
  'express',
];
const USER_DEPS = [
  '@types/node@20',
  'koa@3',
  '@types/koa@3',
  'express@5',
  '@types/express@5',
  'fastify@5',
  'hono@4',
  '@hono/node-server@2',
  'uWebSockets.js@npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0',
];

const STRICT = {
  target: 'ES2022',
  lib: ['ES2023'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  skipLibCheck: false,
  noEmit: true,
};

/**
 * The two projects. The CommonJS one compiles the same ESM-syntax snippets the way a CommonJS
 * user's TypeScript does: `verbatimModuleSyntax` would refuse every `import` statement there
 * (TS1286, it wants `import x = require()`), so it is off, with `esModuleInterop`; and a top-level
 * `await` is an error only because the file is CommonJS (TS1309), so that one code is ignored.
 */
const PROJECTS = [
  {
    name: 'ESM',
    dir: 'esm',
    type: 'module',
    compilerOptions: { ...STRICT, module: 'nodenext', verbatimModuleSyntax: true },
    ignoredCodes: new Set(),
  },
  {
    name: 'CJS',
    dir: 'cjs',
    type: 'commonjs',
    compilerOptions: {
      ...STRICT,
      module: 'node16',
      verbatimModuleSyntax: false,
      esModuleInterop: true,
    },
    ignoredCodes: new Set(['TS1309']),
  },
];

function sh(command, args, cwd) {
  const run = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${run.stdout}\n${run.stderr}`);
  }
  return `${run.stdout}${run.stderr}`;
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Every ```ts block of a Markdown file (indented in a list too): { file, line, info, code }. */
function markdownSnippets(root, file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const snippets = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^( *)```ts(?:\s+(.*))?$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const start = i + 1;
    while (i + 1 < lines.length && !/^ *```\s*$/.test(lines[i + 1])) i += 1;
    const code = lines.slice(start, i + 1).map((line) => line.slice(indent));
    snippets.push({ file, line: start + 1, info: open[2] ?? '', code });
    i += 1;
  }
  return snippets;
}

/** Every ```ts block inside a JSDoc comment of a source file, without the comment's ` * `. */
function jsdocSnippets(root, file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const snippets = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^\s*\*\s?```ts(?:\s+(.*))?$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^\s*\*\s?```\s*$/.test(lines[i + 1])) {
      if (/\*\//.test(lines[i + 1]))
        throw new Error(`${file}:${start}: unterminated \`\`\`ts block`);
      i += 1;
    }
    const code = lines.slice(start, i + 1).map((line) => line.replace(/^\s*\*\s?/, ''));
    snippets.push({ file, line: start + 1, info: open[1] ?? '', code });
    i += 1;
  }
  return snippets;
}

/** The snippets of every README and every package's sources, with their contexts. */
export function collectSnippets(root) {
  const files = [
    'README.md',
    ...PACKAGES.map((p) => `packages/${p}/README.md`).filter((f) => existsSync(join(root, f))),
  ];
  const snippets = files.flatMap((file) => markdownSnippets(root, file));
  for (const pkg of PACKAGES) {
    const src = join(root, 'packages', pkg, 'src');
    if (!existsSync(src)) continue;
    for (const path of walk(src)
      .filter((p) => p.endsWith('.ts'))
      .sort()) {
      snippets.push(...jsdocSnippets(root, relative(root, path)));
    }
  }
  for (const snippet of snippets) {
    const where = `${snippet.file}:${snippet.line}`;
    const context = /(?:^|\s)context=(\S+)/.exec(snippet.info);
    snippet.contexts = context ? context[1].split(',') : [];
    const text = snippet.code.join('\n');
    if (/@ts-(nocheck|ignore)/.test(text))
      throw new Error(`${where}: no @ts-nocheck or @ts-ignore`);
  }
  return snippets;
}

/** A context's text, refused when it could hide an error. */
function readContext(root, name) {
  const path = join(root, 'scripts', 'snippet-contexts', `${name}.ts`);
  if (!existsSync(path)) throw new Error(`no snippet context ${name} (${relative(root, path)})`);
  const text = readFileSync(path, 'utf8');
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  if (/\bany\b|@ts-|^\s*import\s/m.test(code)) {
    throw new Error(
      `${relative(root, path)}: a context must not use any, @ts- directives or imports`,
    );
  }
  return text;
}

function pack(root, pkg, outDir) {
  const before = new Set(readdirSync(outDir));
  const dir = join(root, 'packages', pkg);
  if (!existsSync(join(dir, 'dist')))
    throw new Error(`packages/${pkg}/dist is missing: build first`);
  sh(join(root, 'node_modules', '.bin', 'pnpm'), ['pack', '--pack-destination', outDir], dir);
  const created = readdirSync(outDir).filter((f) => !before.has(f) && f.endsWith('.tgz'));
  if (created.length !== 1) throw new Error(`pnpm pack in packages/${pkg} made ${created}`);
  return join(outDir, created[0]);
}

/**
 * Packs, installs, writes the snippets into both projects and type-checks them. Returns
 * { snippets, counts, results: { ESM, CJS, install }, errors } and prints what failed.
 */
export function runSnippetCheck(root) {
  const started = Date.now();
  const snippets = collectSnippets(root);
  const extra = join(root, 'scripts', 'snippet-checks');
  const checks = existsSync(extra)
    ? readdirSync(extra)
        .filter((f) => f.endsWith('.ts'))
        .sort()
        .map((f) => ({
          file: `scripts/snippet-checks/${f}`,
          line: 1,
          info: '',
          contexts: [],
          code: readFileSync(join(extra, f), 'utf8').split('\n'),
        }))
    : [];
  const all = [...snippets, ...checks];
  const contexts = new Map();
  for (const s of all) {
    for (const name of s.contexts) {
      if (!contexts.has(name)) contexts.set(name, readContext(root, name));
    }
  }

  const work = mkdtempSync(join(tmpdir(), 'sse-snippets-'));
  const results = {};
  const errors = [];
  const notes = new Set();
  try {
    const packs = join(work, 'packs');
    mkdirSync(packs);
    const tarballs = PACKAGES.filter((p) => existsSync(join(root, 'packages', p))).map((p) =>
      pack(root, p, packs),
    );
    writeFileSync(
      join(work, 'package.json'),
      JSON.stringify({ name: 'snippets', private: true, type: 'module' }),
    );
    const installLog = sh(
      'npm',
      ['install', '--no-audit', '--no-fund', ...tarballs, ...USER_DEPS],
      work,
    );
    const engineWarnings = installLog.split('\n').filter((l) => /EBADENGINE/.test(l));
    results.install = engineWarnings.length === 0 ? 'pass' : 'FAIL';
    if (engineWarnings.length > 0) {
      errors.push(
        `npm install of the packed packages warns EBADENGINE on Node ${process.versions.node}:\n${installLog
          .split('\n')
          .filter((l) => /EBADENGINE/.test(l) || /package:|required:/.test(l))
          .join('\n')}`,
      );
    }

    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const project of PROJECTS) {
      const dir = join(work, project.dir);
      mkdirSync(join(dir, 'snippets'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: project.type }));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify(
          { compilerOptions: project.compilerOptions, include: ['snippets'] },
          null,
          2,
        ),
      );
      const origin = new Map();
      all.forEach((snippet, index) => {
        const slug = `${String(index + 1).padStart(3, '0')}-${snippet.file.replace(/[^\w]+/g, '_')}-${snippet.line}`;
        const prelude = snippet.contexts.map((name) => contexts.get(name)).join('\n');
        const preludeLines = prelude === '' ? 0 : prelude.split('\n').length;
        const body = `${prelude === '' ? '' : `${prelude}\n`}${snippet.code.join('\n')}\nexport {};\n`;
        writeFileSync(join(dir, 'snippets', `${slug}.ts`), body);
        origin.set(`snippets/${slug}.ts`, { snippet, preludeLines });
      });
      const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], {
        cwd: dir,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      const output = `${run.stdout}${run.stderr}`;
      const failures = [];
      /** Where the indented continuation lines of the last error go (none for an ignored one). */
      let current;
      for (const line of output.split('\n')) {
        if (line.trim() === '') continue;
        const match = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
        if (!match) {
          if (/^\s/.test(line)) {
            if (current) current.text += `\n${line}`;
          } else {
            current = { text: line }; // an error tsc gives no file for (a bad option, say)
            failures.push(current);
          }
          continue;
        }
        const [, file, lineNo, col, code, message] = match;
        current = undefined;
        if (project.ignoredCodes.has(code)) continue;
        if (/node_modules\//.test(file) && !/node_modules\/@sse-middleware\//.test(file)) {
          // Another library's own declarations (hono's use DOM types): not ours to fix, and a
          // user of that library meets them with or without us. Ours must be clean.
          notes.add(`${file.replace(/^.*node_modules\//, '')}: error ${code}: ${message}`);
          continue;
        }
        const from = origin.get(file);
        let where = `${file}(${lineNo},${col})`;
        if (from) {
          const n = Number(lineNo) - from.preludeLines;
          where =
            n >= 1
              ? `${from.snippet.file}:${from.snippet.line + n - 1}:${col}`
              : `the context (${from.snippet.contexts.join(',')}) of ${from.snippet.file}:${from.snippet.line}`;
        }
        current = { text: `${where} (${project.name}): error ${code}: ${message}` };
        failures.push(current);
      }
      // A non-zero exit is fine only when every error it counted was one ignored above.
      const ok = failures.length === 0 && (run.status === 0 || /error TS\d+/.test(output));
      results[project.name] = ok ? 'pass' : 'FAIL';
      if (!ok)
        errors.push(...(failures.length > 0 ? failures.map((f) => f.text) : [output.trim()]));
    }
  } catch (error) {
    errors.push(String(error instanceof Error ? error.message : error));
    for (const name of ['install', 'ESM', 'CJS']) results[name] ??= 'FAIL';
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const counts = new Map();
  for (const s of all) counts.set(s.file, (counts.get(s.file) ?? 0) + 1);
  const seconds = Math.round((Date.now() - started) / 1000);
  return { snippets: all.length, counts, results, errors, notes: [...notes], seconds };
}

/** Prints the result of {@link runSnippetCheck}; returns true when everything passed. */
export function printSnippetCheck({ snippets, counts, results, errors, notes, seconds }) {
  console.log(
    `\n${snippets} TypeScript snippets in ${counts.size} files, checked in ${seconds} s:`,
  );
  for (const [file, n] of counts) console.log(`  ${String(n).padStart(3)}  ${file}`);
  for (const [name, result] of Object.entries(results)) console.log(`  ${name}: ${result}`);
  for (const note of notes)
    console.log(`  note, not counted (another library's declarations): ${note}`);
  for (const error of errors) console.log(error);
  return errors.length === 0 && Object.values(results).every((r) => r === 'pass');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const ok = printSnippetCheck(runSnippetCheck(root));
  process.exit(ok ? 0 : 1);
}
