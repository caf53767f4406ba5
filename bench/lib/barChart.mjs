// A dependency-free horizontal bar chart as SVG, for RESULTS.md. Log scale is offered because the
// figures we compare span two orders of magnitude (a 2 KB pixel against 100 KB SDKs).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Renders bars: `bars` is `[{ label, value, highlight? }]`, `unit` is appended to the printed
 * value. `log` draws lengths on a log10 scale (the printed numbers stay exact).
 */
export function barChart({ title, bars, unit = '', log = false, width = 640 }) {
  const rowH = 26;
  const left = 170;
  const right = 110;
  const top = 34;
  const height = top + bars.length * rowH + 12;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const span = width - left - right;
  const len = (v) => (v <= 0 ? 0 : log ? (Math.log10(Math.max(v, 1)) / Math.log10(Math.max(max, 10))) * span : (v / max) * span);
  const rows = bars.map((b, i) => {
    const y = top + i * rowH;
    const w = Math.max(1, len(b.value));
    const fill = b.highlight ? '#2f7d4f' : '#8a94a6';
    return [
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${fill}" rx="2"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 16}">${esc(b.text ?? `${b.value.toLocaleString('en-US')}${unit}`)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="20" font-weight="600">${esc(title)}${log ? ' (log scale)' : ''}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}
