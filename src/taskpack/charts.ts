// The report's plots: Vega-Lite specifications rendered to SVG at build time (vega's headless View,
// renderer 'none' + toSVG), so report.html carries static vector graphics — no script, prints to PDF as
// drawn, opens offline. Every chart's title names the patient and the session.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ChartSubject {
  readonly patient: string;
  readonly session: string;
}

const WIDTH = 640;

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const titled = (text: string, who: ChartSubject): { text: string; subtitle: string } => ({ text, subtitle: `patient ${who.patient} · session ${who.session}` });

export interface AngleCurve {
  /** x: % of the gait cycle (gait) or seconds (others). */
  readonly x: number;
  readonly value: number;
  readonly sd: number | null;
  readonly side: 'left' | 'right';
  readonly joint: 'knee flexion' | 'hip flexion';
}

export async function angleChart(rows: readonly AngleCurve[], who: ChartSubject, cycle: boolean): Promise<string> {
  const x = { field: 'x', type: 'quantitative' as const, title: cycle ? '% of gait cycle (heel strike → heel strike)' : 'time (s)' };
  const color = { field: 'side', type: 'nominal' as const, scale: { domain: ['left', 'right'], range: ['#1f77b4', '#d62728'] } };
  // One dataset (the facet splits it by joint); rows without an SD get a zero-width band.
  const values = rows.map((r) => ({ ...r, lo: r.value - (r.sd ?? 0), hi: r.value + (r.sd ?? 0) }));
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titled(cycle ? 'Joint angles over the gait cycle, left vs right (mean ± SD of cycles)' : 'Joint angles over time, left vs right', who),
    data: { values },
    facet: { column: { field: 'joint', type: 'nominal', title: null } },
    spec: {
      width: WIDTH / 2 - 40,
      height: 200,
      layer: [
        { mark: { type: 'area' as const, opacity: 0.15 }, encoding: { x, y: { field: 'lo', type: 'quantitative' as const }, y2: { field: 'hi' }, color } },
        { mark: { type: 'line' as const, strokeWidth: 2 }, encoding: { x, y: { field: 'value', type: 'quantitative' as const, title: 'angle (deg)' }, color } },
      ],
    },
  } as TopLevelSpec);
}

export interface PhaseBar {
  readonly track: string;
  readonly phase: string;
  readonly start: number;
  readonly end: number;
}

export async function phaseChart(bars: readonly PhaseBar[], who: ChartSubject): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titled('Phase timeline', who),
    width: WIDTH,
    height: 90,
    data: { values: bars.map((b) => ({ ...b })) },
    mark: { type: 'bar', height: 18 },
    encoding: {
      x: { field: 'start', type: 'quantitative', title: 'time (s)' },
      x2: { field: 'end' },
      y: { field: 'track', type: 'nominal', title: null },
      color: { field: 'phase', type: 'nominal', legend: { orient: 'bottom', columns: 6 } },
    },
  } as TopLevelSpec);
}

export interface UncertaintyPoint {
  readonly t: number;
  readonly u: number;
  readonly flagged: boolean;
}

export async function uncertaintyChart(points: readonly UncertaintyPoint[], threshold: number, who: ChartSubject): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titled('World-model uncertainty (MC-dropout, 10 passes, Δh = 10 frames) with flagged moments', who),
    width: WIDTH,
    height: 160,
    layer: [
      {
        data: { values: points.map((p) => ({ ...p })) },
        mark: { type: 'line', strokeWidth: 1.5, color: '#555' },
        encoding: { x: { field: 't', type: 'quantitative', title: 'time (s)' }, y: { field: 'u', type: 'quantitative', title: 'uncertainty (latent SD)' } },
      },
      {
        data: { values: points.filter((p) => p.flagged).map((p) => ({ ...p })) },
        mark: { type: 'point', filled: true, color: '#d62728', size: 30 },
        encoding: { x: { field: 't', type: 'quantitative' }, y: { field: 'u', type: 'quantitative' } },
      },
      {
        data: { values: [{ threshold }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#d62728' },
        encoding: { y: { field: 'threshold', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec);
}
