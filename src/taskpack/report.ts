// report.html: the clinician's two-minute read of a task pack. One self-contained file (inline CSS, plots
// as inline SVG rendered at build time, no script, no external resource), laid out for A4 print: each
// section avoids page breaks inside, plots scale to the page. Every section and plot names the patient
// and the session; every metric states its unit, its definition and, where one exists, the source of
// its normative range.
import type { GoalPlan } from '../../models/planning/goal.js';
import { QUANTITY_INFO } from '../../models/planning/quantities.js';
import type { SimExecution } from '../../models/planning/sim-execution.js';
import type { SimReplayLog } from '../../streams/sim-replay.js';
import type { Assessment } from '../../streams/types.js';
import type { MetricRow } from './normative.js';

export interface ReportData {
  readonly id: string;
  readonly patient: string;
  readonly session: string;
  readonly clinic: string | null;
  readonly assessment: Assessment;
  readonly created: string;
  readonly recording: { readonly file: string; readonly sha256: string; readonly frames: number; readonly duration_s: number };
  readonly model: { readonly version: string; readonly weights_sha256: string };
  readonly metrics: readonly MetricRow[];
  readonly charts: { readonly angles: string; readonly phases: string; readonly uncertainty: string };
  readonly anglesNote: string;
  readonly flagged: readonly { t: number; u: number }[];
  readonly uncertaintyThreshold: number;
  readonly simReplay: SimReplayLog['summary'];
  readonly variants: { readonly total: number; readonly accepted: number; readonly rejectedBy: Readonly<Record<string, number>> };
  readonly execution: SimExecution;
  readonly counterfactuals: readonly GoalPlan[];
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const signed = (v: number | null, digits = 1): string => (v === null || !Number.isFinite(v) ? '–' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`);
const digitsFor = (unit: string): number => (unit === 'm' || unit === 'm²' ? 3 : unit === 's' || unit === 'm/s' ? 2 : 1);

const PHASE_WORDS: Readonly<Record<string, string>> = {
  mid_stance: 'mid-stance',
  all: 'the whole session',
  bottom: 'the bottom of the squat',
  rising: 'rising',
};

/** One counterfactual in plain language, with its uncertainty and its held-back check. */
export function counterfactualSentence(p: GoalPlan): string {
  if (p.goal.quantity === 'pose') return 'A target pose was planned.';
  const info = QUANTITY_INFO[p.goal.quantity];
  const d = digitsFor(info.unit);
  const phase = PHASE_WORDS[p.goal.phase ?? ''] ?? p.goal.phase ?? '';
  const ask = `If ${info.label.toLowerCase()} in ${phase} were ${signed(p.goal.requested, d)} ${info.unit}`;
  const others = p.metrics
    .filter((m) => m.quantity !== p.goal.quantity && m.change !== null)
    .map(
      (m) =>
        `${QUANTITY_INFO[m.quantity].label.toLowerCase()} ${signed(m.change, digitsFor(m.unit))} ${m.unit} (± ${fmt(m.uncertainty_sd, digitsFor(m.unit))})`,
    );
  const reached = p.reached
    ? `the model finds a movement that does it (latent change ${fmt(p.latent_norm, 2)} of at most ${fmt(p.max_norm, 1)})`
    : `the model cannot get all the way within a plausible change: it reaches ${signed(p.planning.change, d)} ${info.unit}`;
  const held = p.held_back
    ? ` On steps the planner did not see, the predicted change is ${signed(p.held_back.change, d)} ${info.unit} (± ${fmt(p.held_back.uncertainty_sd, d)}).`
    : '';
  const physics = p.physics.length ? ` Caution: the predicted movement ${p.physics.map((r) => r.detail).join('; ')}.` : '';
  return `${ask}, ${reached}.${held} It would also change: ${others.length ? others.join(', ') : 'nothing else measurable'}.${physics}`;
}

export function renderReport(d: ReportData): string {
  const who = `patient <b>${esc(d.patient)}</b> · session <b>${esc(d.session)}</b>`;
  const metricRows = d.metrics
    .map((m) => {
      const range = m.normative
        ? `${m.normative.low === null ? '≤' : fmt(m.normative.low, digitsFor(m.unit))}${m.normative.low !== null && m.normative.high !== null ? '–' : ''}${m.normative.high === null ? '' : fmt(m.normative.high, digitsFor(m.unit))}`
        : 'no range';
      const src = m.normative ? esc(m.normative.source) : 'no published range for this measurement';
      const cls = m.status === 'within' ? 'ok' : m.status ? 'out' : '';
      return `<tr class="${cls}"><td>${esc(m.label)}</td><td class="num">${fmt(m.value, digitsFor(m.unit))}</td><td>${esc(m.unit)}</td><td>${range} ${m.status ? `<span class="tag">${m.status}</span>` : ''}</td><td class="small">${esc(m.definition)}<br><i>${src}</i></td></tr>`;
    })
    .join('\n');
  const sr = d.simReplay;
  const byFlag = Object.entries(sr.by_flag)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${esc(k.toLowerCase().replace(/_/g, ' '))}: ${n}`)
    .join(', ');
  const fa = d.execution.failure_analysis;
  const top = fa.ranking
    .slice(0, 3)
    .map(
      (f) =>
        `<li>${esc(f.parameter.replace(/_/g, ' '))} (${esc(f.unit)}): ${f.direction === 'higher_fails' ? 'higher' : 'lower'} values fail more often (AUC ${fmt(f.auc, 2)})</li>`,
    )
    .join('');
  const corr = d.execution.corrections;
  const fixed = corr.filter((c) => c.verified).length;
  const flaggedList = d.flagged
    .slice(0, 8)
    .map((f) => `${fmt(f.t, 2)} s (${fmt(f.u, 3)})`)
    .join(', ');
  const rejected = Object.entries(d.variants.rejectedBy)
    .map(([k, n]) => `${esc(k.replace(/_/g, ' '))} ${n}`)
    .join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Task pack ${esc(d.id)} — patient ${esc(d.patient)}, session ${esc(d.session)}</title>
<style>
body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:760px;margin:24px auto;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #ccc;padding-bottom:2px}
.who{color:#444}.small{font-size:11px;color:#555}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:3px 5px;vertical-align:top;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.out td:first-child{border-left:3px solid #d62728}tr.ok td:first-child{border-left:3px solid #2ca02c}
.tag{font-size:10px;background:#eee;border-radius:3px;padding:0 4px}section{break-inside:avoid;page-break-inside:avoid}
figure{margin:6px 0}figure svg{max-width:100%;height:auto}.cf{background:#f6f8fa;border-left:3px solid #1f77b4;padding:6px 10px;margin:6px 0}
footer{margin-top:20px;font-size:10px;color:#666;word-break:break-all}
@page{size:A4;margin:14mm}@media print{body{margin:0;max-width:none}h2{break-after:avoid}}
</style></head><body>
<header><h1>${esc(assessmentTitle(d.assessment))} — movement assessment report</h1>
<div class="who">${who}${d.clinic ? ` · clinic ${esc(d.clinic)}` : ''} · recorded ${fmt(d.recording.duration_s, 1)} s (${d.recording.frames} frames) · report ${esc(d.created)}</div></header>

<section id="metrics"><h2>Metrics against normative ranges — ${who}</h2>
<table><thead><tr><th>metric</th><th>value</th><th>unit</th><th>normative</th><th>definition and source</th></tr></thead><tbody>
${metricRows}
</tbody></table></section>

<section id="angles"><h2>Joint angles — ${who}</h2><p class="small">${esc(d.anglesNote)}</p><figure>${d.charts.angles}</figure></section>

<section id="phases"><h2>Phase timeline — ${who}</h2><p class="small">Top: movement phases from the live pipeline (stage 3). Bottom: static / transition / dynamic from root speed (planning keyframes sit at its changes).</p><figure>${d.charts.phases}</figure></section>

<section id="uncertainty"><h2>Model uncertainty — ${who}</h2>
<p class="small">How sure the world model is of the next 10 frames (mean SD across 10 MC-dropout passes, latent units). Flagged (red): above Q3 + 1.5·IQR of this session (${fmt(d.uncertaintyThreshold, 3)}), i.e. moments unlike the rest — worth a look in the video. ${d.flagged.length ? `${d.flagged.length} flagged frames, e.g. ${flaggedList}.` : 'No frame flagged.'}</p>
<figure>${d.charts.uncertainty}</figure></section>

<section id="counterfactuals"><h2>What if … (model predictions, not measurements) — ${who}</h2>
${d.counterfactuals.map((p) => `<p class="cf">${esc(counterfactualSentence(p))}</p>`).join('\n') || '<p>No counterfactual could be planned for this session.</p>'}
<p class="small">Predictions of the JEPA world model for this patient: a latent change is searched that produces the requested change, rolled forward by the model and decoded to poses; ± is the spread over 10 MC-dropout passes. They describe what the model expects, not a treatment outcome.</p></section>

<section id="checks"><h2>Data quality and simulation checks — ${who}</h2>
<p>Replay against floor and body (stage 4): ${sr.passed ? 'passed' : '<b>flagged</b>'} — ${sr.flagged_frames} of ${d.recording.frames} frames flagged${byFlag ? ` (${byFlag})` : ''}; ${sr.penetration.length} ground-penetration episode(s); fastest joint ${fmt(sr.max_joint_speed_mps, 1)} m/s.</p>
<p>Planned variants (stage 7): ${d.variants.total}, of which ${d.variants.accepted} passed the physics filter${rejected ? ` (rejected: ${rejected})` : ''}. Executed against the ${esc(assessmentTitle(d.assessment).toLowerCase())} criteria (stage 8): ${fa.labelled - fa.failed} succeeded, ${fa.failed} failed; ${fixed} of ${corr.length} corrected failures verified.</p>
${top ? `<p>Parameters that most predict failure across the variants:</p><ul>${top}</ul>` : `<p class="small">${esc(fa.note ?? '')}</p>`}
</section>

<footer>Task pack ${esc(d.id)} · recording ${esc(d.recording.file)} sha256 ${esc(d.recording.sha256)} · model ${esc(d.model.version)} weights sha256 ${esc(d.model.weights_sha256)} · verify with <code>jepa-motion audit &lt;task pack dir&gt;</code></footer>
</body></html>
`;
}

function assessmentTitle(a: Assessment): string {
  return a === 'gait' ? 'Gait' : a === 'squat' ? 'Squat' : a === 'sit_to_stand' ? 'Sit-to-stand' : 'Balance';
}
