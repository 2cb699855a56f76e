// k6 load test: N virtual iPads streaming ARKit frames at 60 Hz to /v1/ingest — the same scenario as
// the Node harness (loadtest/harness.ts). Each VU opens one session (staggered over RAMP_S), sends
// hello + env, then frames for DURATION_S against an absolute schedule (no drift), then end; every
// feedback's latency goes into the `feedback_latency` trend, frames without feedback into
// `missing_feedback`.
//
//   npx tsx loadtest/k6/make-frames.ts > /tmp/jepa-frames.bin
//   k6 run -e URL=ws://127.0.0.1:8080 -e TOKEN=<device or admin JWT> -e FRAMES=/tmp/jepa-frames.bin \
//          -e SESSIONS=20 -e DURATION_S=30 -e RAMP_S=5 -e PATIENT=p1 loadtest/k6/ingest.js
//
// The token travels as `?token=` (the server's documented fallback; k6 subprotocol support varies by
// version). Needs k6 ≥ 0.46 (k6/experimental/websockets with binaryType 'arraybuffer').
import { WebSocket } from 'k6/experimental/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';
import { Counter, Trend } from 'k6/metrics';
import { decode, encode } from './msgpack.js';

/* global __ENV, __VU, open */
const URL_BASE = __ENV.URL || 'ws://127.0.0.1:8080';
const TOKEN = __ENV.TOKEN || '';
const SESSIONS = Number(__ENV.SESSIONS || 10);
const DURATION_S = Number(__ENV.DURATION_S || 30);
const RAMP_S = Number(__ENV.RAMP_S || 5);
const FPS = Number(__ENV.FPS || 60);
const PATIENT = __ENV.PATIENT || 'load-p0';
const FRAME_BYTES = 8 + 16 * 4 + 273 * 4 + 91;

const template = open(__ENV.FRAMES || '/tmp/jepa-frames.bin', 'b');
const header = new DataView(template, 0, 8);
const FRAME_COUNT = header.getUint32(0, true);

/** Float32 little-endian bytes of template frame i (anchor, joints) and its tracked flags. */
function templateFrame(i) {
  const o = 8 + (i % FRAME_COUNT) * FRAME_BYTES;
  return {
    anchor: new Uint8Array(template.slice(o + 8, o + 8 + 64)),
    joints: new Uint8Array(template.slice(o + 72, o + 72 + 1092)),
    tracked: new Uint8Array(template.slice(o + 1164, o + 1164 + 91)),
  };
}

const feedbackLatency = new Trend('feedback_latency', true);
const missingFeedback = new Counter('missing_feedback');
const missingAck = new Counter('missing_ack');
const framesSent = new Counter('frames_sent');
const wireErrors = new Counter('wire_errors');

export const options = {
  scenarios: { ipads: { executor: 'per-vu-iterations', vus: SESSIONS, iterations: 1, maxDuration: `${DURATION_S + RAMP_S + 60}s` } },
  thresholds: { feedback_latency: ['p(99)<50'], missing_feedback: ['count==0'], missing_ack: ['count==0'] },
};

export default function () {
  const delayMs = SESSIONS > 1 ? ((__VU - 1) * RAMP_S * 1000) / SESSIONS : 0;
  setTimeout(() => session(), delayMs);
}

function session() {
  const ws = new WebSocket(`${URL_BASE}/v1/ingest?token=${encodeURIComponent(TOKEN)}`);
  ws.binaryType = 'arraybuffer';
  const total = Math.round(DURATION_S * FPS);
  const sentAt = new Map();
  let lastAck = -1;
  let seq = 0;
  let start = 0;
  let timer;
  let ended = false;

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
    // Absolute schedule: frame k is due at start + k / FPS, whatever the timer's lateness.
    timer = setTimeout(sendNext, Math.max(0, start + (seq * 1000) / FPS - Date.now()));
  };

  ws.onopen = () => {
    ws.send(
      encode({
        type: 'hello',
        protocol: 1,
        patientId: PATIENT,
        assessment: 'gait',
        fps: FPS,
        skeleton: 'arkit91',
        device: { model: 'k6', os: 'k6', app: 'jepa-motion k6' },
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
      ended = true;
      missingFeedback.add(sentAt.size);
      missingAck.add(Math.max(0, seq - 1 - lastAck));
      ws.close();
    }
  };
  ws.onclose = () => {
    clearTimeout(timer);
    // A session cut short: everything not answered, and every frame never sent, is missing.
    if (!ended) missingFeedback.add(sentAt.size + (total - seq));
  };
  ws.onerror = () => wireErrors.add(1, { code: 'SOCKET' });
}
