/** Formatting shared by the sections of docs/benchmarks.md. */
import type { Measurement } from '../results.js';

export const dash = '–';

export function num(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return dash;
  return value.toFixed(digits);
}

export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return dash;
  return `${(a / b).toFixed(2)}x`;
}

export function delivered(m: Measurement | undefined): string {
  if (!m) return dash;
  if (m.error) return `**failed**: ${m.error}`;
  const pct = m.expected > 0 ? (m.delivered / m.expected) * 100 : 0;
  const text = `${m.delivered.toLocaleString('en-US')}/${m.expected.toLocaleString('en-US')}`;
  return pct >= 100 ? `${text} (100%)` : `**${text} (${pct.toFixed(2)}%)**`;
}

export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
