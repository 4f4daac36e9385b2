// Statistics and plain-text tables shared by the benchmarks (hbone.ts, mesh.ts).

/** The nearest-rank percentile `p` (0-100) of `xs`; NaN when there are no samples. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (xs: number[]) => percentile(xs, 50);

/** A figure for a table: `digits` decimals below 1000, none from 1000 on; '-' when missing. */
export function fmt(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return Math.abs(n) >= 1000 ? n.toFixed(0) : n.toFixed(digits);
}

/** `a / b` as '1.23x', or '-' when either is missing or b is not positive. */
export const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-';

/** Aligned columns: the first left-aligned, the others right-aligned; rows[0] is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}
