// Markdown output helpers for the report.

/** A markdown table; `align` is one 'l' or 'r' per column (default: first left, others right). */
export function table(headers, rows, align) {
  const a = align ?? headers.map((_, i) => (i ? 'r' : 'l'));
  const line = (cells) => `| ${cells.map((c) => String(c ?? '')).join(' | ')} |`;
  return [line(headers), line(a.map((x) => (x === 'r' ? '---:' : ':---'))), ...rows.map(line)].join('\n');
}

/** Thousands separators for integers, fixed decimals otherwise. */
export function num(value, decimals = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return 'n/a';
  return Number(value).toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A ratio like `12.3×`. */
export function times(value) {
  return Number.isFinite(value) ? `${value >= 10 ? value.toFixed(0) : value.toFixed(1)}×` : 'n/a';
}

/** A target line: ✅/❌, the claim, and the measured figure. */
export function target(ok, claim, measured) {
  return { ok, line: `${ok ? '✅ met' : '❌ MISSED'}: ${claim} (measured: ${measured})` };
}
