/* global document, window, WebSocket, fetch, requestAnimationFrame, sessionStorage, history, atob, URLSearchParams */
// The therapist page: token → list of the clinic's live sessions (GET /v1/sessions, polled) → subscribe
// to one over /v1/live → skeleton, phase, contacts, metrics, uncertainty, prediction. Every state the
// user can be in is named on #status[data-state]: need-token, connecting, no-sessions, choose, live,
// ended, reconnecting, auth-error, error.
import { drawSkeleton, viewDirection } from './draw.js';
import { bearerProtocols, decodeLive, encodeLive } from './wire.js';

const POLL_MS = 3000;
const BACKOFF_MS = [250, 500, 1000, 2000, 5000];
/** Root positions kept to estimate the walking direction (≈ 4 s at 30 Hz): bounded. */
const MAX_ROOTS = 120;
const AUTH_CLOSE_CODES = new Set([4001, 4011]);

const $ = (id) => document.getElementById(id);
const state = {
  token: '',
  ws: undefined,
  selected: undefined,
  sessions: [],
  updates: 0,
  latest: undefined,
  drawPending: false,
  roots: [],
  view: { dir: [1, 0], centre: undefined },
  attempt: 0,
  pollTimer: undefined,
  ended: false,
  wanted: undefined,
  viewSet: false,
};

function setStatus(kind, text) {
  const el = $('status');
  el.dataset.state = kind;
  el.textContent = text;
}

/** The clinic claim, for display only (the server verifies the token; the page never trusts it). */
function clinicOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).clinic;
  } catch {
    return undefined;
  }
}

function askForToken(message) {
  $('token-form').hidden = false;
  setStatus(message ? 'auth-error' : 'need-token', message ?? 'Enter a therapist token to see live sessions.');
}

async function loadSessions() {
  let res;
  try {
    res = await fetch('/v1/sessions', { headers: { authorization: `Bearer ${state.token}` } });
  } catch {
    return schedulePoll();
  }
  if (res.status === 401 || res.status === 403) {
    const body = await res.json().catch(() => ({}));
    stop();
    return askForToken(`Token refused (${res.status} ${body.code ?? ''}): ${res.status === 403 ? 'a therapist or admin token is needed' : 'sign in again'}.`);
  }
  if (!res.ok) {
    setStatus('error', `Could not list sessions (HTTP ${res.status}); retrying.`);
    return schedulePoll();
  }
  const { sessions } = await res.json();
  state.sessions = Array.isArray(sessions) ? sessions : [];
  renderSessions();
  schedulePoll();
}

function schedulePoll() {
  window.clearTimeout(state.pollTimer);
  state.pollTimer = window.setTimeout(loadSessions, POLL_MS);
}

function renderSessions() {
  const list = $('sessions');
  list.replaceChildren(
    ...state.sessions.map((s) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.sessionId = s.sessionId;
      b.setAttribute('aria-pressed', String(s.sessionId === state.selected));
      b.textContent = `${s.patientId} · ${s.assessment} · ${s.frames} frames`;
      b.addEventListener('click', () => select(s.sessionId));
      li.append(b);
      return li;
    }),
  );
  if (state.wanted && state.sessions.some((s) => s.sessionId === state.wanted)) {
    const id = state.wanted;
    state.wanted = undefined;
    select(id);
  }
  if (state.selected && !state.ended) return;
  if (state.ended) return;
  if (state.sessions.length === 0) setStatus('no-sessions', 'No live sessions in this clinic right now.');
  else setStatus('choose', `${state.sessions.length} live session(s): choose one.`);
}

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(encodeLive(msg));
}

function select(sessionId) {
  if (state.selected === sessionId) return;
  if (state.selected) send({ type: 'unsubscribe', sessionId: state.selected });
  Object.assign(state, {
    selected: sessionId,
    updates: 0,
    latest: undefined,
    roots: [],
    ended: false,
    viewSet: false,
    view: { dir: [1, 0], centre: undefined },
  });
  $('frame-counter').textContent = '0';
  $('session-view').hidden = false;
  const s = state.sessions.find((x) => x.sessionId === sessionId);
  $('session-title').textContent = s ? `${s.patientId} — ${s.assessment}` : sessionId;
  renderSessions();
  send({ type: 'subscribe', sessionId });
  setStatus('live', `Following ${sessionId}; waiting for frames…`);
}

function show(update, counted) {
  state.latest = update;
  if (counted) state.updates++;
  if (Number.isFinite(update.joints[0])) {
    state.roots.push([update.joints[0], update.joints[2]]);
    if (state.roots.length > MAX_ROOTS) state.roots.shift();
  }
  if (!state.drawPending) {
    state.drawPending = true;
    requestAnimationFrame(render);
  }
}

const fmt = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—');

function render() {
  state.drawPending = false;
  const u = state.latest;
  if (!u) return;
  state.view.dir = viewDirection(u.joints, state.roots, state.viewSet ? state.view.dir : undefined);
  state.viewSet = true;
  drawSkeleton($('skeleton').getContext('2d'), u, state.view);
  $('phase').textContent = u.phase;
  $('contacts').textContent = `left ${u.contacts.left ? 'down' : 'up'} · right ${u.contacts.right ? 'down' : 'up'}`;
  $('uncertainty').textContent = fmt(u.uncertainty);
  $('surprise').textContent = fmt(u.surprise);
  $('seq').textContent = `${u.seq} (t = ${fmt(u.t, 2)} s)`;
  $('frame-counter').textContent = String(state.updates);
  $('metrics').tBodies[0].replaceChildren(
    ...Object.entries(u.metrics ?? {}).map(([k, v]) => {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      const value = document.createElement('td');
      name.textContent = k;
      value.textContent = fmt(v);
      tr.append(name, value);
      return tr;
    }),
  );
  if (!state.ended) setStatus('live', `Live: ${state.updates} updates received.`);
}

function onMessage(msg) {
  if (!msg) return;
  if (msg.type === 'snapshot' && msg.sessionId === state.selected) {
    const last = msg.updates[msg.updates.length - 1];
    for (const u of msg.updates) if (Number.isFinite(u.joints[0])) state.roots.push([u.joints[0], u.joints[2]]);
    state.roots.splice(0, Math.max(0, state.roots.length - MAX_ROOTS));
    if (last) show(last, false);
  } else if (msg.type === 'update' && msg.sessionId === state.selected) {
    show(msg, true);
  } else if (msg.type === 'session.ended' && msg.sessionId === state.selected) {
    state.ended = true;
    setStatus('ended', `Session ended: ${msg.frames} frames recorded.`);
    void loadSessions();
  } else if (msg.type === 'error') {
    setStatus(msg.code === 'FORBIDDEN' ? 'auth-error' : 'error', `${msg.code}: ${msg.message}`);
  }
}

function openLive() {
  const url = new URL('/v1/live', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url, bearerProtocols(state.token));
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    state.attempt = 0;
    if (state.selected) send({ type: 'subscribe', sessionId: state.selected });
    if (!state.selected) void loadSessions();
  };
  ws.onmessage = (ev) => onMessage(decodeLive(ev.data));
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = undefined;
    if (AUTH_CLOSE_CODES.has(ev.code)) return askForToken(`Signed out by the server (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}).`);
    // A refused upgrade (HTTP 401) looks like a close before open; the sessions request tells which.
    if (!opened && state.attempt === 0) void loadSessions();
    const delay = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
    state.attempt++;
    if (!state.ended) setStatus('reconnecting', `Connection lost; reconnecting in ${delay} ms…`);
    window.setTimeout(() => state.token && !state.ws && openLive(), delay);
  };
}

function stop() {
  window.clearTimeout(state.pollTimer);
  const ws = state.ws;
  state.ws = undefined;
  state.token = '';
  if (ws) ws.close(1000);
}

function connect(token) {
  state.token = token;
  sessionStorage.setItem('jepa-token', token);
  $('token-form').hidden = true;
  const clinic = clinicOf(token);
  $('clinic').textContent = clinic ? `clinic ${clinic}` : '';
  setStatus('connecting', 'Connecting…');
  openLive();
  void loadSessions();
}

function start() {
  const params = new URLSearchParams(window.location.search);
  const fromUrl = params.get('token');
  state.wanted = params.get('session') ?? undefined;
  if (fromUrl) {
    // Keep the token out of the address bar and history once read.
    params.delete('token');
    history.replaceState(null, '', `${window.location.pathname}${params.size ? `?${params}` : ''}`);
  }
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = $('token-input').value.trim();
    if (value) connect(value);
  });
  const token = fromUrl ?? sessionStorage.getItem('jepa-token');
  if (token) connect(token);
  else askForToken();
}

start();
