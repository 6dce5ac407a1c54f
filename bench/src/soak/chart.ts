/** A small hand-written SVG line chart (no charting dependency), for values over time. */
import { escapeXml, niceMax } from '../report/svg.js';

export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
}

interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Vertical marks on the x axis (drop cycles, a restart). */
  marks?: Array<{ x: number; label: string }>;
}

const PALETTE = ['#2f6fdf', '#e07b28', '#2a9d4b', '#c23b3b', '#7d4fc4', '#8a8a8a', '#d4a017'];

const format = (value: number) =>
  value === 0 ? '0' : value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2);

export function lineChart({ title, xLabel, yLabel, series, marks = [] }: LineChart): string {
  const [width, left, right, top] = [760, 70, 20, 40];
  const legendRows = Math.ceil(series.length / 3);
  const plotHeight = 260;
  const plotWidth = width - left - right;
  const all = series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(0, ...all.map(([x]) => x)));
  const yMax = niceMax(Math.max(0, ...all.map(([, y]) => y)));
  const x = (v: number) => Number((left + (v / xMax) * plotWidth).toFixed(1));
  const y = (v: number) => Number((top + plotHeight - (v / yMax) * plotHeight).toFixed(1));
  const parts: string[] = [];
  for (let i = 0; i <= 5; i += 1) {
    const yv = (yMax * i) / 5;
    parts.push(
      `<line x1="${left}" y1="${y(yv)}" x2="${left + plotWidth}" y2="${y(yv)}" stroke="#e4e4e4"/>`,
      `<text x="${left - 6}" y="${y(yv) + 4}" text-anchor="end" font-size="10" fill="#555">${format(yv)}</text>`,
    );
    const xv = (xMax * i) / 5;
    parts.push(
      `<text x="${x(xv)}" y="${top + plotHeight + 14}" text-anchor="middle" font-size="10" fill="#555">${format(xv)}</text>`,
    );
  }
  for (const mark of marks) {
    parts.push(
      `<line x1="${x(mark.x).toFixed(1)}" y1="${top}" x2="${x(mark.x).toFixed(1)}" y2="${top + plotHeight}" stroke="#bbb" stroke-dasharray="3,3"><title>${escapeXml(mark.label)}</title></line>`,
    );
  }
  for (const [i, s] of series.entries()) {
    const color = PALETTE[i % PALETTE.length]!;
    const path = s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${path}"/>`);
    const lx = left + (i % 3) * 230;
    const ly = top + plotHeight + 34 + Math.floor(i / 3) * 16;
    parts.push(
      `<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${color}"/>`,
      `<text x="${lx + 14}" y="${ly}" font-size="11">${escapeXml(s.name)}</text>`,
    );
  }
  const height = top + plotHeight + 34 + legendRows * 16 + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left}" y="32" font-size="10" fill="#555">${escapeXml(yLabel)}</text>`,
    `<text x="${left + plotWidth}" y="${top + plotHeight + 26}" text-anchor="end" font-size="10" fill="#555">${escapeXml(xLabel)}</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
