/** Formatting shared by the report, and its one table renderer. */
import type { Measurement } from '../results.js';

export const dash = '–';
export const n = (value: number) => value.toLocaleString('en-US');

export const num = (value: number | null | undefined, digits = 2) =>
  value == null || !Number.isFinite(value) ? dash : value.toFixed(digits);

/** `+0.53`, `-5.18`: a difference with its sign. */
export const signed = (value: number, digits = 2) =>
  `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

export const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || b === 0 ? dash : `${(a / b).toFixed(2)}x`;

export function delivered(m: Measurement | undefined): string {
  if (!m) return dash;
  if (m.error) return `**failed**: ${m.error}`;
  const pct = m.expected > 0 ? (m.delivered / m.expected) * 100 : 0;
  const text = `${n(m.delivered)}/${n(m.expected)}`;
  return pct >= 100 ? `${text} (100%)` : `**${text} (${pct.toFixed(2)}%)**`;
}

/** A column of a table: its header, and how a row fills its cell. */
export type Column<R> = readonly [header: string, cell: (row: R) => string];

/** Every table of the report: the columns are data, the rows whatever they read. */
export function table<R>(columns: ReadonlyArray<Column<R>>, rows: readonly R[]): string {
  return [
    `| ${columns.map(([header]) => header).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${columns.map(([, cell]) => cell(row)).join(' | ')} |`),
  ].join('\n');
}

/** A two-column table of names and values (machine, sizes); undefined values are left out. */
export function pairs(headers: [string, string], values: Record<string, string | undefined>) {
  const rows = Object.entries(values).filter(
    (row): row is [string, string] => row[1] !== undefined,
  );
  return table<[string, string]>(
    [
      [headers[0], (r) => r[0]],
      [headers[1], (r) => r[1]],
    ],
    rows,
  );
}
