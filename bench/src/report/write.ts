/** Writes a run's JSON, docs/benchmarks.md (or results/<stem>.md) and the SVG charts. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { document, type ReportInput } from '../saved.js';
import { checkTargets } from '../targets.js';
import { CHARTS, type Notes, renderChart, renderMarkdown } from './markdown.js';

const benchRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = join(benchRoot, '..');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const NOT_IN_SLUG = /[^\p{L}\p{M}\p{N}\p{Pc} -]/gu;
const slug = (title: string) => title.toLowerCase().replace(NOT_IN_SLUG, '').replace(/ /g, '-');
const NOTES_FILE = /^benchmarks-notes-.+\.md$/;

/**
 * The newest dated notes (docs/benchmarks-notes-<date>.md, or <date>a.md, <date>b.md for two runs
 * on one day), linked from `from`: a heading that
 * names keys in backticks (`cpu-vs-raw`, `mem-vs-raw:uws`, `poll`) is the section for them.
 */
async function loadNotes(from: string): Promise<Notes | undefined> {
  const docs = join(repoRoot, 'docs');
  const file = (await readdir(docs))
    .filter((f) => NOTES_FILE.test(f))
    .sort()
    .pop();
  if (!file) return undefined;
  const sections: Notes['sections'] = new Map();
  for (const [, title] of (await readFile(join(docs, file), 'utf8')).matchAll(/^#+ (.+)$/gm)) {
    for (const [, key] of title!.matchAll(/`([\w:-]+)`/g))
      sections.set(key!, { title: title!.replace(/ \([^)]*`.*$/, ''), slug: slug(title!) });
  }
  // Two runs on one day: <date>a.md, then <date>b.md.
  const date = file.slice('benchmarks-notes-'.length, -'.md'.length).replace(/[a-z]$/, '');
  return { href: relative(from, join(docs, file)), date, sections };
}

/** Writes the JSON, the markdown and the charts; returns the paths written. */
export async function writeReports(input: ReportInput): Promise<string[]> {
  const checks = checkTargets(input.results, input.plan, input.crossnode?.results);
  const stem = input.partial ? 'partial' : input.plan.name === 'quick' ? 'quick' : 'latest';
  const json = join(benchRoot, 'results', `${stem}.json`);
  const markdown =
    stem === 'latest'
      ? join(repoRoot, 'docs', 'benchmarks.md')
      : join(benchRoot, 'results', `${stem}.md`);
  await mkdir(dirname(json), { recursive: true });
  await writeFile(json, `${JSON.stringify(document(input, checks), null, 2)}\n`);
  const here = dirname(markdown);
  const page = await readFile(join(benchRoot, 'src', 'report', 'page.md'), 'utf8');
  const readme = relative(here, join(benchRoot, 'README.md'));
  const links = { page, json: relative(repoRoot, json), readme, notes: await loadNotes(here) };
  await writeFile(markdown, renderMarkdown(input, checks, links));
  const written = [json, markdown];
  for (const chart of stem === 'latest' ? CHARTS : []) {
    if (!chart.file) continue;
    const file = join(benchRoot, 'results', 'charts', chart.file);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${renderChart(input.results, input.plan, chart)}\n`);
    written.push(file);
  }
  return written.map((file) => relative(repoRoot, file));
}
