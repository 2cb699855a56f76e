/** Timing and table helpers shared by the model benchmarks (scripts: they print, by design). */
import { median } from '../stats.js';

/** Median wall time (ms) of `repeats` runs of fn after `warmup` untimed runs. */
export async function medianMs(fn: () => unknown, repeats: number, warmup = 1): Promise<{ median: number; runs: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    runs.push(performance.now() - t0);
  }
  return { median: median(runs), runs };
}

/** Fixed-width text table. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  return cells
    .map((r, k) => {
      const line = r.map((c, i) => String(c).padStart(widths[i]!)).join('  ');
      return k === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function fmt(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.01 ? v.toFixed(3) : v.toExponential(2);
}

/** `--name value` / `--flag` parsing for the bench scripts (no config module: these are not the server). */
export function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
