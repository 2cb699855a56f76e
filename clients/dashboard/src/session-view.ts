// One session, live or replayed: header naming patient and session, skeleton (sagittal + frontal) with
// the predicted-pose ghost at the chosen horizon, readouts, metrics against normative ranges, plots.
// A view is built for exactly one (session, patient) and refuses anything else; switching builds a new
// view. `blank(reason)` hides every number and picture (disconnected, not found, ended).
import { h, fmt, duration } from './dom.js';
import { METRIC_NORMS, OTHER_METRICS, SOURCES, type Profile, type Sex } from './norms.js';
import { Plots, type PlotsState } from './plots.js';
import type { SessionHistory, State } from './session-state.js';
import { SkeletonView, type Drawn } from './skeleton-view.js';

export interface SessionHeader {
  readonly sessionId: string;
  readonly patientId: string;
  readonly assessment: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly mode: 'live' | 'replay';
}

/** Ghost horizon shown until the therapist picks one (frames; README: the model is judged at Δh 10). */
export const DEFAULT_GHOST_H = 10;
/** Live plots show this many seconds. */
export const LIVE_WINDOW_S = 20;
const PLOT_INTERVAL_MS = 100;

export interface ViewTestState {
  readonly sessionId: string;
  readonly patientId: string;
  readonly blank: string | undefined;
  readonly skeleton: Drawn | undefined;
  readonly plots: PlotsState | undefined;
  readonly horizon: string;
  readonly refused: number;
}

export class SessionView {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly blankEl: HTMLElement;
  private readonly skeleton: SkeletonView;
  private readonly plots: Plots;
  private readonly horizonSel: HTMLSelectElement;
  private readonly readout: HTMLElement;
  private readonly metricsBody: HTMLTableSectionElement;
  private readonly durationEl: HTMLElement;
  private readonly horizons = new Set<string>();
  private plottedAt = 0;
  private blankReason: string | undefined = 'waiting for data';
  private profile: Profile;
  private refused = 0;

  constructor(
    readonly header: SessionHeader,
    controls?: HTMLElement,
  ) {
    const who = `patient ${header.patientId} · session ${header.sessionId}`;
    this.profile = loadProfile(header.patientId);
    this.durationEl = h('span', { class: 'duration' });
    this.horizonSel = h('select', { id: 'horizon', 'aria-label': 'predicted pose horizon' }, h('option', { value: 'none' }, 'no ghost'));
    this.horizonSel.addEventListener('change', () => localStorage.setItem('jepa-horizon', this.horizonSel.value));
    const sagittal = h('canvas', { width: 420, height: 360, id: 'sagittal', 'aria-label': `sagittal view, ${who}` });
    const frontal = h('canvas', { width: 300, height: 360, id: 'frontal', 'aria-label': `frontal view, ${who}` });
    this.skeleton = new SkeletonView(sagittal, frontal);
    this.readout = h('dl', { class: 'readout' });
    this.metricsBody = h('tbody');
    const plotsEl = h('div', { class: 'plots', id: 'plots' });
    this.blankEl = h('p', { class: 'blank', role: 'status' });
    this.body = h(
      'div',
      { class: 'session-body' },
      h(
        'section',
        { class: 'figures' },
        h('figure', { class: 'skel' }, sagittal, h('figcaption', {}, `Sagittal (side) — ${who}`)),
        h('figure', { class: 'skel' }, frontal, h('figcaption', {}, `Frontal — ${who}`)),
        h(
          'p',
          { class: 'legend' },
          'Solid: measured pose (blue left, red right). Violet ghost: the model’s predicted pose at the chosen horizon. Dots: foot on the floor.',
        ),
      ),
      h('section', { class: 'numbers' }, this.readout, this.profileControls(), h('table', { id: 'metrics' }, metricsHead(), this.metricsBody), references()),
      h('section', { class: 'timeline' }, h('h3', {}, `Timeline — ${who}`), plotsEl, plotsLegend()),
    );
    this.el = h(
      'article',
      { class: `session-view ${header.mode}`, 'data-session-id': header.sessionId, 'data-patient-id': header.patientId },
      h(
        'header',
        { class: 'session-header' },
        h('h2', {}, 'Patient ', h('strong', { id: 'hdr-patient' }, header.patientId), ' · ', header.assessment),
        h('span', { class: 'muted' }, 'session ', h('code', { id: 'hdr-session' }, header.sessionId)),
        h('span', { class: `mode ${header.mode}` }, header.mode === 'live' ? 'LIVE' : 'REPLAY'),
        this.durationEl,
        h('label', {}, 'Ghost horizon ', this.horizonSel),
        controls,
      ),
      this.blankEl,
      this.body,
    );
    this.plots = new Plots(plotsEl, header.sessionId);
    this.blank('waiting for data');
  }

  destroy(): void {
    this.plots.destroy();
    this.skeleton.clear();
    this.el.remove();
  }

  /** Hides all data of this session and says why. */
  blank(reason: string): void {
    this.blankReason = reason;
    this.body.hidden = true;
    this.blankEl.hidden = false;
    this.blankEl.textContent = `${reason} — nothing is shown for patient ${this.header.patientId}, session ${this.header.sessionId}.`;
    this.skeleton.clear();
    this.readout.replaceChildren();
    this.metricsBody.replaceChildren();
    this.plots.setData([], 0, 1, 0);
  }

  /**
   * Shows `state` (must be this view's session) with `history` (same session). Live: plots scroll over
   * the last LIVE_WINDOW_S; replay: `window` is the whole session and `cursorT` the scrubbed time.
   */
  show(state: State, history: SessionHistory, opts: { window?: [number, number]; cursorT?: number; force?: boolean } = {}): void {
    if (state.sessionId !== this.header.sessionId || history.sessionId !== this.header.sessionId) {
      this.refused += 1;
      return this.blank('data of another session arrived and was refused');
    }
    if (this.blankReason) {
      this.blankReason = undefined;
      this.body.hidden = false;
      this.blankEl.hidden = true;
    }
    this.updateHorizons(state);
    const sel = this.horizonSel.value;
    this.skeleton.draw(state, sel === 'none' ? 'none' : sel === 'first' ? 'first' : Number(sel));
    this.renderReadout(state, history);
    this.renderMetrics(state);
    const first = history.all[0];
    this.durationEl.textContent =
      this.header.mode === 'live'
        ? `running ${duration(Date.now() - this.header.startedAt)}`
        : `t = ${fmt(state.t - (first?.t ?? state.t), 1)} s of ${fmt((history.all[history.all.length - 1]?.t ?? state.t) - (first?.t ?? state.t), 1)} s`;
    const now = performance.now();
    if (opts.force || now - this.plottedAt >= PLOT_INTERVAL_MS) {
      this.plottedAt = now;
      // Live: the last LIVE_WINDOW_S, filling from the left until that much history exists.
      const t0 = history.t0 ?? state.t;
      const liveFrom = Math.max(t0, state.t - LIVE_WINDOW_S);
      const [from, to] = opts.window ?? [liveFrom, liveFrom + LIVE_WINDOW_S];
      const samples = opts.window ? history.all : history.all.filter((s) => s.t >= from);
      this.plots.setData(samples, from, to, t0, opts.cursorT);
    }
  }

  testState(): ViewTestState {
    return {
      sessionId: this.header.sessionId,
      patientId: this.header.patientId,
      blank: this.blankReason,
      skeleton: this.skeleton.drawn,
      plots: this.plots.state,
      horizon: this.horizonSel.value,
      refused: this.refused,
    };
  }

  /** Offers every horizon this session has shown so far (a frame without predictions changes nothing). */
  private updateHorizons(s: State): void {
    let added = false;
    for (const p of s.predictions) {
      const v = p.h === null ? 'first' : String(p.h);
      if (!this.horizons.has(v)) {
        this.horizons.add(v);
        added = true;
      }
    }
    if (!added) return;
    const hs = [...this.horizons].sort((a, b) => Number(a) - Number(b));
    const current = this.horizonSel.value;
    this.horizonSel.replaceChildren(
      h('option', { value: 'none' }, 'no ghost'),
      ...hs.map((v) => h('option', { value: v }, v === 'first' ? 'first horizon' : `Δh ${v} frames`)),
    );
    // The therapist's choice (kept across sessions) when offered, else the horizon nearest DEFAULT_GHOST_H
    // (Δh 1 would sit on the body; 10 frames is where the model is evaluated).
    const wanted = localStorage.getItem('jepa-horizon') ?? (current !== 'none' ? current : null);
    const nearest = [...hs].sort((a, b) => Math.abs(Number(a) - DEFAULT_GHOST_H) - Math.abs(Number(b) - DEFAULT_GHOST_H))[0];
    this.horizonSel.value = wanted === 'none' || (wanted !== null && hs.includes(wanted)) ? wanted : (nearest ?? 'none');
  }

  private renderReadout(s: State, history: SessionHistory): void {
    const last = history.all[history.all.length - 1];
    const sel = this.horizonSel.value;
    const ghost = s.predictions.find((p) => (p.h === null ? 'first' : String(p.h)) === sel);
    const rows: [string, string, (string | undefined)?][] = [
      ['Phase', s.phase],
      ['Feet on floor', `left ${s.contacts.left ? 'yes' : 'no'} · right ${s.contacts.right ? 'yes' : 'no'}`],
      ['Uncertainty', fmt(s.uncertainty, 3), last?.flagUncertainty ? 'flag' : undefined],
      ['Surprise', fmt(s.surprise, 3), last?.flagSurprise ? 'flag' : undefined],
      ['Ghost', ghost ? `${ghost.h === null ? 'first horizon' : `${ghost.h} frames ahead`} (uncertainty ${fmt(ghost.uncertainty, 3)})` : 'none for this frame'],
      ['CoM speed', `${fmt(last?.comSpeed, 2)} m/s${history.comModel && history.comModel !== 'full' ? ` (${history.comModel} CoM)` : ''}`],
      ['Frame', `seq ${s.seq} · t ${fmt(s.t, 2)} s`],
    ];
    this.readout.replaceChildren(...rows.flatMap(([k, v, cls]) => [h('dt', {}, k), h('dd', cls ? { class: cls } : {}, v)]));
  }

  private renderMetrics(s: State): void {
    const rows: HTMLTableRowElement[] = [];
    for (const n of METRIC_NORMS) {
      const v = s.metrics[n.key];
      if (v === undefined) continue;
      const c = n.check(v, this.profile);
      rows.push(
        h(
          'tr',
          { 'data-metric': n.key, 'data-verdict': c.verdict },
          h('th', { title: n.definition }, n.label),
          h('td', {}, `${fmt(v, 2)} ${n.unit}`),
          h('td', {}, c.reference),
          h('td', { class: `verdict ${c.verdict}` }, c.verdict),
          h('td', { class: 'src' }, c.sources.map((x) => `[${x.id}]`).join(' ')),
        ),
      );
    }
    for (const n of OTHER_METRICS) {
      const v = s.metrics[n.key];
      if (v === undefined) continue;
      rows.push(
        h(
          'tr',
          { 'data-metric': n.key },
          h('th', { title: n.definition }, n.label),
          h('td', {}, `${fmt(v, n.unit === 'count' ? 0 : 2)} ${n.unit === 'count' ? '' : n.unit}`),
          h('td', {}, n.definition),
          h('td', {}),
          h('td', {}),
        ),
      );
    }
    const failed = Object.entries(s.metrics).filter(([k, v]) => k.startsWith('quality_passed_') && v === 0);
    for (const [k] of failed) {
      rows.push(
        h(
          'tr',
          { 'data-metric': k, 'data-verdict': 'failed' },
          h('th', {}, 'Quality check'),
          h('td', { class: 'verdict failed' }, 'FAILED'),
          h('td', {}, k.slice('quality_passed_'.length)),
          h('td', {}),
          h('td', {}),
        ),
      );
    }
    this.metricsBody.replaceChildren(...rows);
  }

  private profileControls(): HTMLElement {
    const age = h('select', { id: 'norm-age', 'aria-label': 'patient age band (for reference values)' }, h('option', { value: '' }, 'age: not set'));
    for (const a of [20, 30, 40, 50, 60, 70, 80]) age.append(h('option', { value: a }, `${a}–${a === 80 ? 99 : a + 9}`));
    const sex = h(
      'select',
      { id: 'norm-sex', 'aria-label': 'patient sex (for reference values)' },
      h('option', { value: '' }, 'sex: not set'),
      h('option', { value: 'female' }, 'female'),
      h('option', { value: 'male' }, 'male'),
    );
    age.value = this.profile.ageFrom === undefined ? '' : String(this.profile.ageFrom);
    sex.value = this.profile.sex ?? '';
    const save = () => {
      this.profile = { ...(age.value ? { ageFrom: Number(age.value) } : {}), ...(sex.value ? { sex: sex.value as Sex } : {}) };
      localStorage.setItem(`jepa-norms:${this.header.patientId}`, JSON.stringify(this.profile));
    };
    age.addEventListener('change', save);
    sex.addEventListener('change', save);
    return h('p', { class: 'profile' }, 'Reference values for ', age, ' ', sex);
  }
}

function loadProfile(patientId: string): Profile {
  try {
    const p = JSON.parse(localStorage.getItem(`jepa-norms:${patientId}`) ?? '{}') as { ageFrom?: unknown; sex?: unknown };
    return {
      ...(typeof p.ageFrom === 'number' ? { ageFrom: p.ageFrom } : {}),
      ...(p.sex === 'female' || p.sex === 'male' ? { sex: p.sex } : {}),
    };
  } catch {
    return {};
  }
}

function metricsHead(): HTMLElement {
  return h('thead', {}, h('tr', {}, h('th', {}, 'Metric'), h('th', {}, 'Value'), h('th', {}, 'Reference'), h('th', {}, 'vs reference'), h('th', {}, 'Source')));
}

function references(): HTMLElement {
  return h(
    'details',
    { class: 'refs' },
    h('summary', {}, 'Sources of the reference values'),
    h('ul', {}, ...Object.values(SOURCES).map((s) => h('li', {}, `[${s.id}] ${s.cite}`))),
  );
}

function plotsLegend(): HTMLElement {
  return h(
    'p',
    { class: 'legend' },
    'Knee and hip flexion: left (blue) vs right (red), degrees from straight. CoM speed: horizontal speed of the centre of mass (de Leva 1996 segment masses). ',
    'Uncertainty: spread of the model’s predictions (MC dropout); surprise: how far the movement departed from what the model predicted. ',
    'Shaded red: flagged moments, above this session’s median + 3 robust SD (1.4826 × MAD).',
  );
}
