// The clinic view: every live session of the clinic (all nodes) with patient, assessment, duration,
// phase and an alert badge; and the finished sessions with their replay and task-pack report.
import type { ClinicStore, LiveEntry } from './clinic-store.js';
import { h, duration } from './dom.js';

/** A badge shows when a flag was raised within this many seconds of device time. */
export const ALERT_RECENT_S = 5;

export interface FinishedRow {
  readonly sessionId: string;
  readonly patientId: string;
  readonly assessment: string;
  readonly startedAt: string;
  readonly endedAt: string;
  /** Task-pack id with a report, when one exists for the session. */
  readonly taskpack?: string;
}

export function alertsOf(e: LiveEntry): string[] {
  const out: string[] = [];
  const recent = e.history.all.filter((s) => e.latest && e.latest.t - s.t <= ALERT_RECENT_S);
  if (recent.some((s) => s.flagUncertainty)) out.push('high uncertainty');
  if (recent.some((s) => s.flagSurprise)) out.push('high surprise');
  const failed = Object.entries(e.latest?.metrics ?? {}).filter(([k, v]) => k.startsWith('quality_passed_') && v === 0);
  if (failed.length) out.push(`quality check failed: ${failed.map(([k]) => k.slice('quality_passed_'.length)).join(', ')}`);
  return out;
}

/**
 * The finished sessions to list, newest first: those the server lists (with their task pack when it
 * knows one) and those that ended while the page watched; a task pack announced on the live connection
 * (`taskpack.ready`) shows at once, before the next GET /v1/taskpacks lists it.
 */
export function finishedList(store: ClinicStore, finished: readonly FinishedRow[]): FinishedRow[] {
  const ended = [...store.ended.entries()].map(([id, e]) => ({
    sessionId: id,
    patientId: e.info.patientId,
    assessment: e.info.assessment,
    startedAt: new Date(e.info.startedAt).toISOString(),
    endedAt: new Date(e.endedAt).toISOString(),
  }));
  const byId = new Map<string, FinishedRow>(ended.map((f) => [f.sessionId, f]));
  for (const f of finished) byId.set(f.sessionId, f); // the server's row (with its task pack) wins
  return [...byId.values()]
    .map((f) => {
      const tp = f.taskpack ?? store.reports.get(f.sessionId);
      return tp ? { ...f, taskpack: tp } : f;
    })
    .sort((a, b) => b.endedAt.localeCompare(a.endedAt));
}

export function renderClinic(
  root: HTMLElement,
  clinic: string,
  store: ClinicStore,
  finished: readonly FinishedRow[],
  onReport: (taskpack: string) => void,
): void {
  const live = [...store.live.values()].filter((e): e is LiveEntry & { info: NonNullable<LiveEntry['info']> } => e.info !== undefined);
  live.sort((a, b) => a.info.startedAt - b.info.startedAt);
  const liveRows = live.map((e) => {
    const alerts = alertsOf(e);
    return h(
      'tr',
      { 'data-session-id': e.sessionId, 'data-patient-id': e.info.patientId, 'data-alert': alerts.length > 0 },
      h('td', {}, h('a', { href: `#/session/${encodeURIComponent(e.sessionId)}`, class: 'open' }, e.info.patientId)),
      h('td', {}, e.info.assessment),
      h('td', {}, duration(Date.now() - e.info.startedAt)),
      h('td', {}, e.latest?.phase ?? 'no data yet'),
      h('td', {}, ...alerts.map((a) => h('span', { class: 'badge alert', title: a }, a))),
      h('td', { class: 'muted' }, h('code', {}, e.sessionId)),
    );
  });
  const finishedRows = finishedList(store, finished).map((f) => {
    const report = f.taskpack
      ? h('button', { type: 'button', class: 'link', 'data-taskpack': f.taskpack }, 'task-pack report')
      : h('span', { class: 'muted' }, 'no report yet');
    if (f.taskpack) report.addEventListener('click', () => onReport(f.taskpack!));
    return h(
      'tr',
      { 'data-session-id': f.sessionId, 'data-patient-id': f.patientId },
      h('td', {}, f.patientId),
      h('td', {}, f.assessment),
      h('td', {}, new Date(f.startedAt).toLocaleString()),
      h('td', {}, new Date(f.endedAt).toLocaleString()),
      h('td', {}, h('a', { href: `#/replay/${encodeURIComponent(f.sessionId)}`, class: 'replay' }, 'replay')),
      h('td', {}, report),
    );
  });
  root.replaceChildren(
    h(
      'section',
      { class: 'clinic', id: 'clinic-view' },
      h('h2', {}, `Live sessions — clinic ${clinic}`),
      liveRows.length
        ? h(
            'table',
            { id: 'live-sessions' },
            h('thead', {}, h('tr', {}, ...['Patient', 'Assessment', 'Duration', 'Phase', 'Alerts', 'Session'].map((t) => h('th', {}, t)))),
            h('tbody', {}, ...liveRows),
          )
        : h('p', { class: 'muted', id: 'no-live' }, 'No live sessions in this clinic right now.'),
      h('h2', {}, 'Finished sessions'),
      finishedRows.length
        ? h(
            'table',
            { id: 'finished-sessions' },
            h('thead', {}, h('tr', {}, ...['Patient', 'Assessment', 'Started', 'Ended', 'Recording', 'Report'].map((t) => h('th', {}, t)))),
            h('tbody', {}, ...finishedRows),
          )
        : h('p', { class: 'muted' }, 'No finished sessions recorded on this server yet.'),
      h(
        'p',
        { class: 'legend' },
        `Alerts: the model’s uncertainty or surprise was above the session’s own median + 3 robust SD in the last ${ALERT_RECENT_S} s, or a stage-1 quality check (floor clearance, gravity, segment lengths) fails.`,
      ),
    ),
  );
}
