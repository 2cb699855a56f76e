// The therapist dashboard: token → one /v1/live connection following the clinic → routes
//   #/                 clinic view (live sessions of every node, finished sessions)
//   #/session/<id>     one live session
//   #/replay/<id>      a finished session replayed from its recording, with a scrubber
// Clinical safety: a session view is built for one (session, patient) and destroyed on any switch;
// while disconnected, or when the session is not (or no longer) live, it shows no data at all.
import { decodeReplay, type Replay } from '../../../src/protocol/index.js';
import { ClinicStore } from './clinic-store.js';
import { renderClinic, type FinishedRow } from './clinic-view.js';
import { h } from './dom.js';
import { LiveClient, type ConnectionState } from './live-client.js';
import { SessionHistory, toState, type State } from './session-state.js';
import { SessionView, type ViewTestState } from './session-view.js';

const $ = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
};
const CLINIC_RENDER_MS = 250;
const FINISHED_REFRESH_MS = 30_000;
/** Task packs looked up per refresh to learn their session (each is one GET). */
const MAX_PACK_LOOKUPS = 10;

type Route = { readonly kind: 'clinic' } | { readonly kind: 'session'; readonly id: string } | { readonly kind: 'replay'; readonly id: string };

interface ReplayData {
  readonly id: string;
  readonly replay: Replay;
  readonly states: readonly State[];
  readonly history: SessionHistory;
  index: number;
  playing: ReturnType<typeof setInterval> | undefined;
}

const app = {
  token: '',
  clinic: '',
  store: new ClinicStore(),
  client: undefined as LiveClient | undefined,
  conn: { kind: 'connecting', attempt: 0 } as ConnectionState,
  route: { kind: 'clinic' } as Route,
  view: undefined as SessionView | undefined,
  replay: undefined as ReplayData | { id: string; error: string } | { id: string; loading: true } | undefined,
  finished: [] as FinishedRow[],
  pending: false,
  clinicRenderedAt: 0,
};

function setStatus(state: string, text: string): void {
  const el = $('status');
  el.dataset.state = state;
  el.textContent = text;
}

function claims(token: string): { clinic?: string; role?: string } {
  try {
    const part = token.split('.')[1] ?? '';
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { clinic?: string; role?: string };
  } catch {
    return {};
  }
}

const api = (path: string): Promise<Response> => fetch(path, { headers: { authorization: `Bearer ${app.token}` } });

function parseRoute(): Route {
  const m = /^#\/(session|replay)\/([^/]+)$/.exec(window.location.hash);
  if (!m) return { kind: 'clinic' };
  const id = decodeURIComponent(m[2] ?? '');
  return m[1] === 'session' ? { kind: 'session', id } : { kind: 'replay', id };
}

function dropView(): void {
  app.view?.destroy();
  app.view = undefined;
}

function notice(text: string, link?: { href: string; text: string }): void {
  dropView();
  $('view').replaceChildren(
    h('p', { class: 'notice', id: 'notice', role: 'status' }, text, link ? ' ' : undefined, link ? h('a', { href: link.href }, link.text) : undefined),
  );
}

function schedule(): void {
  if (app.pending) return;
  app.pending = true;
  requestAnimationFrame(render);
}

function render(): void {
  app.pending = false;
  const r = app.route;
  if (r.kind === 'clinic') {
    dropView();
    if (app.conn.kind !== 'open') return notice('Not connected to the server: no live data is shown until the connection is back.');
    const now = performance.now();
    if (now - app.clinicRenderedAt < CLINIC_RENDER_MS && $('view').querySelector('#clinic-view')) {
      setTimeout(schedule, CLINIC_RENDER_MS);
      return;
    }
    app.clinicRenderedAt = now;
    renderClinic($('view'), app.clinic, app.store, app.finished, (tp) => void openReport(tp));
  } else if (r.kind === 'session') renderSession(r.id);
  else renderReplay(r.id);
}

function renderSession(id: string): void {
  const e = app.store.live.get(id);
  if (!e?.info) {
    const ended = app.store.ended.get(id);
    if (ended)
      return notice(`Session ${id} of patient ${ended.info.patientId} has ended (${ended.frames} frames recorded).`, {
        href: `#/replay/${encodeURIComponent(id)}`,
        text: 'Replay it',
      });
    if (app.conn.kind !== 'open') return notice(`Not connected: nothing is shown for session ${id} until the connection is back.`);
    return notice(`Session ${id} is not live in clinic ${app.clinic} (not found, or it ended).`, { href: '#/', text: 'Back to the clinic' });
  }
  const v = app.view;
  if (!v || v.header.mode !== 'live' || v.header.sessionId !== id || v.header.patientId !== e.info.patientId) {
    dropView();
    app.view = new SessionView({ sessionId: id, patientId: e.info.patientId, assessment: e.info.assessment, startedAt: e.info.startedAt, mode: 'live' });
    $('view').replaceChildren(app.view.el);
  }
  const view = app.view!;
  if (app.conn.kind !== 'open') return view.blank('Disconnected from the server; reconnecting');
  if (!e.latest) return view.blank('Waiting for the first frame of this session');
  view.show(e.latest, e.history);
}

async function loadReplay(id: string): Promise<void> {
  app.replay = { id, loading: true };
  notice(`Loading the recording of session ${id}…`);
  let res: Response;
  try {
    res = await api(`/v1/sessions/${encodeURIComponent(id)}/replay`);
  } catch (cause) {
    if (app.replay?.id === id) app.replay = { id, error: `could not reach the server (${String(cause)})` };
    return schedule();
  }
  if (app.replay?.id !== id) return; // the therapist went elsewhere meanwhile
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    app.replay = { id, error: `${body.code ?? `HTTP ${res.status}`}: ${body.message ?? 'no replay'}` };
    return schedule();
  }
  const decoded = decodeReplay(new Uint8Array(await res.arrayBuffer()));
  if (app.replay?.id !== id) return;
  if (!decoded.ok) {
    app.replay = { id, error: `the server sent an unreadable replay (${decoded.message})` };
    return schedule();
  }
  const history = new SessionHistory(id, Number.POSITIVE_INFINITY);
  const states = decoded.replay.updates.map(toState).filter((s) => s.sessionId === id);
  for (const s of states) history.push(s);
  app.replay = { id, replay: decoded.replay, states, history, index: 0, playing: undefined };
  schedule();
}

function stopPlaying(): void {
  if (app.replay && 'playing' in app.replay && app.replay.playing) {
    clearInterval(app.replay.playing);
    app.replay.playing = undefined;
  }
}

function renderReplay(id: string): void {
  const rp = app.replay;
  if (!rp || rp.id !== id) {
    stopPlaying();
    void loadReplay(id);
    return;
  }
  if ('loading' in rp) return;
  if ('error' in rp) return notice(`No replay for session ${id}: ${rp.error}.`, { href: '#/', text: 'Back to the clinic' });
  const { replay, states, history } = rp;
  let v = app.view;
  if (!v || v.header.mode !== 'replay' || v.header.sessionId !== id || v.header.patientId !== replay.patientId) {
    dropView();
    const scrub = h('input', { type: 'range', id: 'scrubber', min: 0, max: Math.max(0, states.length - 1), value: rp.index, 'aria-label': 'replay position' });
    const play = h('button', { type: 'button', id: 'play' }, 'play');
    scrub.addEventListener('input', () => {
      stopPlaying();
      rp.index = Number(scrub.value);
      schedule();
    });
    play.addEventListener('click', () => {
      if (rp.playing) return stopPlaying();
      if (rp.index >= states.length - 1) rp.index = 0;
      rp.playing = setInterval(() => {
        rp.index = Math.min(states.length - 1, rp.index + 1);
        if (rp.index >= states.length - 1) stopPlaying();
        schedule();
      }, 1000 / replay.updateHz);
      schedule();
    });
    v = new SessionView(
      { sessionId: id, patientId: replay.patientId, assessment: replay.assessment, startedAt: replay.startedAt, mode: 'replay' },
      h('span', { class: 'replay-controls' }, play, scrub),
    );
    app.view = v;
    $('view').replaceChildren(v.el);
  }
  const s = states[rp.index];
  const scrub = v.el.querySelector<HTMLInputElement>('#scrubber');
  if (scrub && Number(scrub.value) !== rp.index) scrub.value = String(rp.index);
  const play = v.el.querySelector('#play');
  if (play) play.textContent = rp.playing ? 'pause' : 'play';
  if (!s) return v.blank('This recording holds no processed frames');
  const first = states[0]!.t;
  const last = states[states.length - 1]!.t;
  v.show(s, history, { window: [first, last], cursorT: s.t, force: true });
}

/** Task pack id → the session it was built from (null: it names none). Packs never change: kept. */
const packSession = new Map<string, string | null>();

/**
 * Learns which session each listed task pack belongs to: from the listing when it says, else from the
 * pack itself (GET /v1/taskpacks/:id), for packs of patients in the finished list, a few per refresh.
 */
async function learnPackSessions(packs: readonly { id: string; sessionId?: string; patientId?: string }[], patients: ReadonlySet<string>): Promise<void> {
  for (const p of packs) if (typeof p.sessionId === 'string') packSession.set(p.id, p.sessionId);
  const unknown = packs.filter((p) => !packSession.has(p.id) && (p.patientId === undefined || patients.has(p.patientId))).slice(-MAX_PACK_LOOKUPS);
  await Promise.all(
    unknown.map(async (p) => {
      const res = await api(`/v1/taskpacks/${encodeURIComponent(p.id)}`);
      if (!res.ok) return;
      const body = (await res.json().catch(() => ({}))) as { sessionId?: unknown };
      packSession.set(p.id, typeof body.sessionId === 'string' ? body.sessionId : null);
    }),
  );
}

async function refreshFinished(): Promise<void> {
  try {
    const [rec, tps] = await Promise.all([api('/v1/recordings'), api('/v1/taskpacks')]);
    if (!rec.ok) return;
    const { sessions } = (await rec.json()) as { sessions: Omit<FinishedRow, 'taskpack'>[] };
    const listed = tps.ok ? ((await tps.json()) as { taskpacks?: { id: string; sessionId?: string; patientId?: string }[] }) : {};
    await learnPackSessions(listed.taskpacks ?? [], new Set(sessions.map((s) => s.patientId)));
    const packOf = new Map<string, string>();
    for (const [id, sid] of packSession) if (sid !== null) packOf.set(sid, id);
    app.finished = sessions.map((s) => {
      const tp = packOf.get(s.sessionId);
      return tp ? { ...s, taskpack: tp } : s;
    });
    schedule();
  } catch {
    // the next refresh (or session.ended) tries again
  }
}

/** Opens a task pack's report (its JSON when the server has no report route) in a new tab, with the token. */
async function openReport(taskpack: string): Promise<void> {
  const tab = window.open('', '_blank');
  try {
    let res = await api(`/v1/taskpacks/${encodeURIComponent(taskpack)}/report`);
    if (res.status === 404) res = await api(`/v1/taskpacks/${encodeURIComponent(taskpack)}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = new Blob([await res.arrayBuffer()], { type: res.headers.get('content-type') ?? 'application/json' });
    if (tab) tab.location.href = URL.createObjectURL(blob);
  } catch (cause) {
    tab?.close();
    setStatus('error', `Could not open the report of task pack ${taskpack}: ${String(cause)}`);
  }
}

function onState(s: ConnectionState): void {
  app.conn = s;
  const conn = $('connection');
  conn.dataset.state = s.kind;
  if (s.kind === 'open') {
    conn.textContent = 'connected';
    setStatus('live', `Following clinic ${app.clinic}.`);
    void refreshFinished();
  } else if (s.kind === 'connecting') {
    conn.textContent = 'connecting…';
  } else if (s.kind === 'reconnecting') {
    // Nothing stale: the live picture is rebuilt from what the server sends after re-subscribing.
    app.store.reset();
    conn.textContent = `connection lost (${s.code}); reconnecting in ${s.inMs} ms`;
    setStatus('reconnecting', 'Connection lost: live data hidden until the connection is back.');
  } else {
    app.store.reset();
    askForToken(`Token refused: ${s.message}.`);
  }
  // Lost or refused: clear now, not at the next frame, so no stale number is ever painted.
  if (s.kind === 'reconnecting' || s.kind === 'auth-error') render();
  else schedule();
}

function askForToken(message?: string): void {
  app.client?.stop();
  app.client = undefined;
  $('token-form').hidden = false;
  setStatus(message ? 'auth-error' : 'need-token', message ?? 'Enter a therapist token to see the clinic’s sessions.');
  notice('Signed out: nothing is shown.');
}

function connect(token: string): void {
  const c = claims(token);
  app.token = token;
  app.clinic = c.clinic ?? '';
  sessionStorage.setItem('jepa-token', token);
  $('token-form').hidden = true;
  $('clinic').textContent = app.clinic ? `clinic ${app.clinic}` : '';
  if (!app.clinic) return askForToken('This token names no clinic.');
  const url = new URL('/v1/live', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  app.client = new LiveClient({
    url: url.toString(),
    token,
    clinic: app.clinic,
    onState,
    onMessage: (m) => {
      const id = app.store.apply(m);
      if (m.type === 'session.ended') void refreshFinished();
      if (m.type === 'taskpack.ready') packSession.set(m.taskpackId, m.sessionId);
      if (m.type === 'error') setStatus(m.code === 'FORBIDDEN' ? 'auth-error' : 'error', `${m.code}: ${m.message}`);
      const r = app.route;
      if (r.kind === 'clinic' || (r.kind === 'session' && (id === undefined || id === r.id))) schedule();
    },
    tokenRefused: async () => {
      const res = await api('/v1/recordings');
      if (res.status !== 401 && res.status !== 403) return undefined;
      const body = (await res.json().catch(() => ({}))) as { code?: string };
      return `${res.status} ${body.code ?? ''} (${res.status === 403 ? 'a therapist or admin token is needed' : 'sign in again'})`;
    },
  });
  app.client.start();
}

function start(): void {
  const params = new URLSearchParams(window.location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    // Keep the token out of the address bar and history once read.
    params.delete('token');
    history.replaceState(null, '', `${window.location.pathname}${params.size ? `?${params}` : ''}${window.location.hash}`);
  }
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = ($('token-input') as HTMLInputElement).value.trim();
    if (value) connect(value);
  });
  window.addEventListener('hashchange', () => {
    app.route = parseRoute();
    if (app.route.kind !== 'replay') stopPlaying();
    // Every switch starts from an empty page, before the next paint: nothing of the previous session
    // (not even its "ended" notice) stays on screen under the new route.
    dropView();
    $('view').replaceChildren();
    schedule();
  });
  app.route = parseRoute();
  setInterval(() => {
    if (app.store.expire().length || app.route.kind === 'clinic') schedule();
  }, 1000);
  setInterval(() => void (app.conn.kind === 'open' && refreshFinished()), FINISHED_REFRESH_MS);
  const token = fromUrl ?? sessionStorage.getItem('jepa-token');
  if (token) connect(token);
  else askForToken();
}

/** What the page has drawn, for the end-to-end tests (read-only). */
(window as unknown as { __jepaDash: unknown }).__jepaDash = {
  get connects(): number {
    return app.client?.connects ?? 0;
  },
  get connection(): string {
    return app.conn.kind;
  },
  get route(): Route {
    return app.route;
  },
  get view(): ViewTestState | undefined {
    return app.view?.testState();
  },
  get liveSessions(): { sessionId: string; patientId: string | undefined; updates: number }[] {
    return [...app.store.live.values()].map((e) => ({ sessionId: e.sessionId, patientId: e.info?.patientId, updates: e.history.length }));
  },
  get replayStates(): number {
    return app.replay && 'states' in app.replay ? app.replay.states.length : 0;
  },
};

start();
