// Scrolling time-series plots (uPlot) of one session: knee and hip flexion left vs right, centre-of-mass
// speed, and the world model's uncertainty and surprise with flagged moments marked; under them the
// phase bar and the foot contacts on the same time axis. Live: the last `windowS` seconds; replay: the
// whole session with a cursor at the scrubbed time.
import uPlot from 'uplot';
import { COLOURS } from './skeleton-view.js';
import type { Sample } from './session-state.js';

export interface PlotSpec {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly series: readonly { readonly label: string; readonly stroke: string; readonly pick: (s: Sample) => number | null; readonly dash?: number[] }[];
  /** Marks flagged samples on this plot. */
  readonly flags?: boolean;
}

export const PLOTS: readonly PlotSpec[] = [
  {
    id: 'knee',
    title: 'Knee flexion',
    unit: '°',
    series: [
      { label: 'left', stroke: COLOURS.left, pick: (s) => s.kneeL },
      { label: 'right', stroke: COLOURS.right, pick: (s) => s.kneeR },
    ],
  },
  {
    id: 'hip',
    title: 'Hip flexion',
    unit: '°',
    series: [
      { label: 'left', stroke: COLOURS.left, pick: (s) => s.hipL },
      { label: 'right', stroke: COLOURS.right, pick: (s) => s.hipR },
    ],
  },
  { id: 'com', title: 'Centre-of-mass speed', unit: 'm/s', series: [{ label: 'CoM speed', stroke: '#0f766e', pick: (s) => s.comSpeed }] },
  {
    id: 'model',
    title: 'Model uncertainty and surprise',
    unit: 'latent units',
    flags: true,
    series: [
      { label: 'uncertainty', stroke: '#7c3aed', pick: (s) => s.uncertainty },
      { label: 'surprise', stroke: '#d97706', pick: (s) => s.surprise, dash: [6, 3] },
    ],
  },
];

const PHASE_COLOURS = ['#93c5fd', '#fca5a5', '#86efac', '#fcd34d', '#c4b5fd', '#f9a8d4', '#99f6e4', '#fdba74'];
export function phaseColour(phase: string): string {
  let h = 0;
  for (const ch of phase) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PHASE_COLOURS[h % PHASE_COLOURS.length] ?? '#ddd';
}

export interface PlotsState {
  readonly sessionId: string;
  /** Points per plot (x values), for tests and for "nothing drawn" checks. */
  readonly lengths: Readonly<Record<string, number>>;
  readonly flagged: number;
}

export class Plots {
  private readonly charts: { spec: PlotSpec; u: uPlot; flagsAt: number[] }[] = [];
  private readonly phaseCanvas: HTMLCanvasElement;
  private cursorT: number | undefined;
  private t0 = 0;
  private range: [number, number] = [0, 1];
  private ro: ResizeObserver | undefined;
  state: PlotsState | undefined;

  constructor(
    private readonly root: HTMLElement,
    readonly sessionId: string,
  ) {
    const width = this.width();
    for (const spec of PLOTS) {
      const box = document.createElement('figure');
      box.className = 'plot';
      box.dataset.plot = spec.id;
      const entry = { spec, u: undefined as unknown as uPlot, flagsAt: [] as number[] };
      const opts: uPlot.Options = {
        title: `${spec.title} (${spec.unit})`,
        width,
        height: 130,
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: false, range: () => this.range } },
        axes: [{ label: 's since the first frame shown', size: 34, labelSize: 14 }, { size: 48 }],
        series: [
          { label: 't (s)' },
          ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: false, ...(s.dash ? { dash: s.dash } : {}) })),
        ],
        hooks: { draw: [(u: uPlot) => this.overlay(u, entry.flagsAt)] },
      };
      entry.u = new uPlot(opts, [[], ...spec.series.map(() => [])], box);
      this.charts.push(entry);
      root.append(box);
    }
    const bar = document.createElement('figure');
    bar.className = 'plot phase-bar';
    const cap = document.createElement('figcaption');
    cap.textContent = 'Phase (top) and foot contacts (left, right: filled = on the floor)';
    this.phaseCanvas = document.createElement('canvas');
    this.phaseCanvas.width = width;
    this.phaseCanvas.height = 64;
    bar.append(cap, this.phaseCanvas);
    root.append(bar);
    if (typeof ResizeObserver !== 'undefined') {
      this.ro = new ResizeObserver(() => this.resize());
      this.ro.observe(root);
    }
  }

  destroy(): void {
    this.ro?.disconnect();
    for (const c of this.charts) c.u.destroy();
    this.charts.length = 0;
    this.root.replaceChildren();
    this.state = undefined;
  }

  /**
   * Draws `samples` (all of this view's session) between `from` and `to` (device seconds); the time
   * axis shows seconds since `t0` (the first frame the page saw of this session).
   */
  setData(samples: readonly Sample[], from: number, to: number, t0: number, cursorT?: number): void {
    this.range = [from - t0, Math.max(to, from + 1) - t0];
    this.cursorT = cursorT === undefined ? undefined : cursorT - t0;
    this.t0 = t0;
    const t = samples.map((s) => s.t - t0);
    const lengths: Record<string, number> = {};
    let flagged = 0;
    for (const c of this.charts) {
      c.flagsAt = c.spec.flags ? samples.filter((s) => s.flagUncertainty || s.flagSurprise).map((s) => s.t - t0) : [];
      flagged = Math.max(flagged, c.flagsAt.length);
      c.u.setData([t, ...c.spec.series.map((sp) => samples.map((s) => sp.pick(s)))] as uPlot.AlignedData, true);
      lengths[c.spec.id] = c.u.data[0]?.length ?? 0;
    }
    this.drawPhases(samples);
    this.state = { sessionId: this.sessionId, lengths, flagged };
  }

  private width(): number {
    return Math.max(280, Math.min(1600, (this.root.clientWidth || 600) - 8));
  }

  private resize(): void {
    const w = this.width();
    for (const c of this.charts) if (Math.abs(c.u.width - w) > 4) c.u.setSize({ width: w, height: 130 });
    if (Math.abs(this.phaseCanvas.width - w) > 4) this.phaseCanvas.width = w;
  }

  /** Flagged moments as red ticks along the top of the plot area, and the replay cursor. */
  private overlay(u: uPlot, flagsAt: readonly number[]): void {
    const { ctx, bbox } = u;
    ctx.save();
    if (flagsAt.length) {
      ctx.fillStyle = 'rgba(220, 38, 38, 0.28)';
      for (const t of flagsAt) {
        const x = u.valToPos(t, 'x', true);
        if (x >= bbox.left && x <= bbox.left + bbox.width) ctx.fillRect(x - 3, bbox.top, 6, bbox.height);
      }
    }
    if (this.cursorT !== undefined) {
      const x = u.valToPos(this.cursorT, 'x', true);
      ctx.strokeStyle = '#111827';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }

  private drawPhases(samples: readonly Sample[]): void {
    const c = this.phaseCanvas;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, c.width, c.height);
    // Same horizontal mapping as the plots' x axis (plot area starts after the y axis).
    const first = this.charts[0]?.u;
    const left = first ? first.bbox.left / devicePixelRatio : 48;
    const width = first ? first.bbox.width / devicePixelRatio : c.width - 56;
    const [from, to] = this.range;
    const x = (t: number) => left + ((t - this.t0 - from) / (to - from)) * width;
    samples.forEach((s, i) => {
      const next = samples[i + 1];
      const x0 = Math.max(left, x(s.t));
      const x1 = Math.min(left + width, next ? x(next.t) : x(s.t) + 2);
      if (x1 <= x0) return;
      ctx.fillStyle = phaseColour(s.phase);
      ctx.fillRect(x0, 2, x1 - x0, 26);
      ctx.fillStyle = COLOURS.left;
      if (s.left) ctx.fillRect(x0, 34, x1 - x0, 12);
      ctx.fillStyle = COLOURS.right;
      if (s.right) ctx.fillRect(x0, 50, x1 - x0, 12);
    });
    ctx.fillStyle = '#111827';
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText('L', 4, 44);
    ctx.fillText('R', 4, 60);
    // Phase names where they fit (each label needs its width of free bar after the previous one).
    let last = '';
    let freeFrom = -Infinity;
    for (const s of samples) {
      if (s.phase === last) continue;
      last = s.phase;
      const px = Math.max(left, x(s.t)) + 2;
      const w = ctx.measureText(s.phase).width + 8;
      if (px < freeFrom || px + w > left + width) continue;
      ctx.fillText(s.phase, px, 19);
      freeFrom = px + w;
    }
    if (this.cursorT !== undefined) {
      ctx.fillStyle = '#111827';
      ctx.fillRect(x(this.cursorT + this.t0) - 1, 0, 2, c.height);
    }
  }
}
