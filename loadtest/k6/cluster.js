// k6 version of the multi-node, multi-clinic scenario (loadtest/cluster-scenario.ts runs it with the
// Node harness and starts every process itself; k6 cannot start processes, so here the cluster runs
// already, e.g. `docker compose -f deploy/compose.yaml up` and faults by `docker compose kill …`).
//   - iPads of two clinics ingest on node A (URL_A), SESSIONS per clinic, DURATION_S each, then `end`;
//   - one therapist dashboard per clinic follows its clinic on node B (URL_B) for the whole run;
//   - a dashboard message about a session of the other clinic counts in `cross_clinic_messages`
//     (threshold: 0); frames sent but never acknowledged count in `missing_ack` (threshold: 0 without
//     faults; with a serve node killed, compare `acked_frames` with the recordings as the harness does).
//
//   npx tsx loadtest/k6/make-frames.ts > /tmp/jepa-frames.bin
//   k6 run -e URL_A=ws://127.0.0.1:8081 -e URL_B=ws://127.0.0.1:8082 -e FRAMES=/tmp/jepa-frames.bin \
//          -e DEVICE_TOKEN_1=<admin JWT, clinic-1> -e DEVICE_TOKEN_2=<admin JWT, clinic-2> \
//          -e THERAPIST_TOKEN_1=<therapist JWT, clinic-1> -e THERAPIST_TOKEN_2=<therapist JWT, clinic-2> \
//          -e SESSIONS=3 -e DURATION_S=20 loadtest/k6/cluster.js
// (tokens: `jepa-motion token --clinic clinic-1 --role admin` with the cluster's JEPA_JWT_SECRET).
import { WebSocket } from 'k6/experimental/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';
import { Counter, Trend } from 'k6/metrics';
import { decode, encode } from './msgpack.js';

/* global __ENV, __VU, open */
const URL_A = __ENV.URL_A || 'ws://127.0.0.1:8081';
const URL_B = __ENV.URL_B || 'ws://127.0.0.1:8082';
const SESSIONS = Number(__ENV.SESSIONS || 3);
const DURATION_S = Number(__ENV.DURATION_S || 20);
const FPS = Number(__ENV.FPS || 60);
const CLINICS = ['clinic-1', 'clinic-2'];
const DEVICE_TOKENS = [__ENV.DEVICE_TOKEN_1 || '', __ENV.DEVICE_TOKEN_2 || ''];
const THERAPIST_TOKENS = [__ENV.THERAPIST_TOKEN_1 || '', __ENV.THERAPIST_TOKEN_2 || ''];
const FRAME_BYTES = 8 + 16 * 4 + 273 * 4 + 91;

const template = open(__ENV.FRAMES || '/tmp/jepa-frames.bin', 'b');
const FRAME_COUNT = new DataView(template, 0, 8).getUint32(0, true);

function templateFrame(i) {
  const o = 8 + (i % FRAME_COUNT) * FRAME_BYTES;
  return {
    anchor: new Uint8Array(template.slice(o + 8, o + 8 + 64)),
    joints: new Uint8Array(template.slice(o + 72, o + 72 + 1092)),
    tracked: new Uint8Array(template.slice(o + 1164, o + 1164 + 91)),
  };
}

const feedbackLatency = new Trend('feedback_latency', true);
const framesSent = new Counter('frames_sent');
const ackedFrames = new Counter('acked_frames');
const missingAck = new Counter('missing_ack');
const sessionsEnded = new Counter('sessions_ended');
const dashboardMessages = new Counter('dashboard_messages');
const crossClinic = new Counter('cross_clinic_messages');
const wireErrors = new Counter('wire_errors');

export const options = {
  scenarios: {
    dashboards: { executor: 'per-vu-iterations', exec: 'dashboard', vus: CLINICS.length, iterations: 1, maxDuration: `${DURATION_S + 120}s` },
    ipads: { executor: 'per-vu-iterations', exec: 'ipad', vus: SESSIONS * CLINICS.length, iterations: 1, startTime: '2s', maxDuration: `${DURATION_S + 90}s` },
  },
  thresholds: { cross_clinic_messages: ['count==0'], missing_ack: ['count==0'], dashboard_messages: ['count>0'] },
};

/** Session ids are assigned by the server; a dashboard knows its clinic's from `session.started`. */
export function dashboard() {
  const c = (__VU - 1) % CLINICS.length;
  const clinic = CLINICS[c];
  const own = new Set();
  const ws = new WebSocket(`${URL_B}/v1/live?token=${encodeURIComponent(THERAPIST_TOKENS[c])}`);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => ws.send(encode({ type: 'subscribe', clinic }).buffer);
  ws.onmessage = (ev) => {
    const m = decode(ev.data);
    if (m.type === 'error') return wireErrors.add(1, { code: m.code });
    dashboardMessages.add(1, { clinic });
    if (m.type === 'session.started') {
      if (m.clinic !== clinic) crossClinic.add(1, { clinic });
      else own.add(m.sessionId);
    } else if (typeof m.sessionId === 'string' && !own.has(m.sessionId)) {
      // An update of a session this dashboard was never told started: another clinic's.
      crossClinic.add(1, { clinic });
    }
  };
  setTimeout(() => ws.close(), (DURATION_S + 60) * 1000);
}

export function ipad() {
  const c = (__VU - 1) % CLINICS.length;
  const ws = new WebSocket(`${URL_A}/v1/ingest?token=${encodeURIComponent(DEVICE_TOKENS[c])}`);
  ws.binaryType = 'arraybuffer';
  const total = Math.round(DURATION_S * FPS);
  const sentAt = new Map();
  let lastAck = -1;
  let seq = 0;
  let start = 0;
  let timer;

  const sendNext = () => {
    if (seq >= total) {
      ws.send(encode({ type: 'end' }).buffer);
      return;
    }
    const f = templateFrame(seq);
    const msg = { type: 'frame', seq, t: 100 + seq / FPS, anchor: f.anchor, joints: f.joints };
    if (f.tracked.some((b) => b === 0)) msg.tracked = f.tracked;
    sentAt.set(seq, Date.now());
    ws.send(encode(msg).buffer);
    framesSent.add(1);
    seq++;
    timer = setTimeout(sendNext, Math.max(0, start + (seq * 1000) / FPS - Date.now()));
  };
  ws.onopen = () => {
    ws.send(
      encode({
        type: 'hello',
        protocol: 1,
        patientId: `${CLINICS[c]}-k6-p${__VU}`,
        assessment: 'gait',
        fps: FPS,
        skeleton: 'arkit91',
        device: { model: 'k6', os: 'k6', app: 'jepa-motion k6 cluster' },
      }).buffer,
    );
  };
  ws.onmessage = (ev) => {
    const m = decode(ev.data);
    if (m.type === 'ready') {
      ws.send(
        encode({
          type: 'env',
          planes: [{ transform: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], extent: [6, 6], alignment: 'horizontal', classification: 'floor' }],
        }).buffer,
      );
      start = Date.now();
      sendNext();
    } else if (m.type === 'feedback') {
      const t = sentAt.get(m.seq);
      if (t !== undefined) {
        feedbackLatency.add(Date.now() - t);
        sentAt.delete(m.seq);
      }
    } else if (m.type === 'ack') {
      lastAck = Math.max(lastAck, m.seq);
    } else if (m.type === 'error') {
      wireErrors.add(1, { code: m.code });
    } else if (m.type === 'ended') {
      sessionsEnded.add(1);
      ws.close();
    }
  };
  ws.onclose = () => {
    clearTimeout(timer);
    ackedFrames.add(lastAck + 1);
    missingAck.add(Math.max(0, seq - 1 - lastAck));
  };
  ws.onerror = () => wireErrors.add(1, { code: 'SOCKET' });
}
