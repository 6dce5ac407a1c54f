/** Small hand-written SVG bar charts (no charting dependency). */

export type BarGroup = { label: string; bars: Array<{ series: string; value: number | null }> };
type BarChart = { title: string; unit: string; groups: BarGroup[]; legend: Record<string, string> };

const COLORS: Record<string, string> = {
  ours: '#2f6fdf',
  raw: '#8a8a8a',
  peer: '#e07b28',
};

export const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The first round value (1, 1.2, 1.5, 2, … × a power of ten) at or above `value`: an axis's end. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10])
    if (step * power >= value) return step * power;
  return 10 * power;
}

/** A horizontal grouped bar chart: one group per adapter, one bar per series. */
export function barChart({ title, unit, groups, legend }: BarChart): string {
  const [barHeight, gap, groupGap, left, width, top] = [14, 3, 12, 90, 720, 44];
  const plotWidth = width - left - 80;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value ?? 0));
  const max = niceMax(Math.max(0, ...values));
  let y = top;
  const parts: string[] = [];
  for (const group of groups) {
    const groupHeight = group.bars.length * (barHeight + gap) - gap;
    parts.push(
      `<text x="${left - 8}" y="${y + groupHeight / 2 + 4}" text-anchor="end" font-size="12">${escapeXml(group.label)}</text>`,
    );
    for (const bar of group.bars) {
      const w = bar.value === null ? 0 : Math.max(1, (bar.value / max) * plotWidth);
      const label = bar.value === null ? 'n/a' : formatValue(bar.value);
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLORS[bar.series] ?? '#555'}"/>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + barHeight - 3}" font-size="11">${escapeXml(label)}</text>`,
      );
      y += barHeight + gap;
    }
    y += groupGap - gap;
  }
  const axisY = y;
  for (let i = 0; i <= 4; i += 1) {
    const x = left + (plotWidth * i) / 4;
    parts.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${axisY}" stroke="#ddd"/>`,
      `<text x="${x}" y="${axisY + 14}" text-anchor="middle" font-size="10" fill="#555">${formatValue((max * i) / 4)}</text>`,
    );
  }
  const legendParts = Object.entries(legend).map(([series, name], i) => {
    const x = left + i * 170;
    return `<rect x="${x}" y="24" width="10" height="10" fill="${COLORS[series] ?? '#555'}"/><text x="${x + 14}" y="33" font-size="11">${escapeXml(name)}</text>`;
  });
  const height = axisY + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    ...legendParts,
    // Grid first, bars over it.
    ...parts.filter((p) => p.startsWith('<line')),
    ...parts.filter((p) => !p.startsWith('<line')),
    `<text x="${left + plotWidth}" y="${axisY + 26}" text-anchor="end" font-size="10" fill="#555">${escapeXml(unit)}</text>`,
    '</svg>',
  ].join('\n');
}

const formatValue = (value: number) =>
  value === 0 ? '0' : value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2);
