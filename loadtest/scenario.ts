// The load scenario shared by the Node harness and the k6 script (loadtest/k6/ingest.js): N virtual
// iPads ramped up over `rampS`, each streaming ARKit frames at `fps` for `durationS` (a real recording,
// looped with continuous seq and t), then `end`. Every frame's send → feedback latency is measured;
// frames without feedback or ack are counted.
import type { FrameInput, WebSocketConstructor } from '../clients/sdk/index.js';
import { arkitFrames, floorPlane } from '../clients/simulator/arkit-frames.js';
import { LatencyHistogram } from '../clients/simulator/latency-histogram.js';
import { runSession } from '../clients/simulator/run-session.js';
import { summarize, SIMULATED_DEVICE, type SimulationReport } from '../clients/simulator/simulate.js';
import type { Recording } from '../streams/types.js';

export interface Scenario {
  readonly url: string;
  readonly token: string;
  readonly sessions: number;
  readonly durationS: number;
  readonly rampS: number;
  readonly fps: number;
  readonly recording: Recording;
  /** Patient ids used round-robin (an admin token may ingest for any; a device token for one). */
  readonly patients: readonly string[];
  readonly WebSocket: WebSocketConstructor;
  /** Seconds at the start of each session left out of the latency percentiles (default 0). */
  readonly warmupS?: number;
}

/** The recording's ARKit frames, computed once and shared by every virtual iPad. */
export function frameTemplates(rec: Recording): FrameInput[] {
  return [...arkitFrames(rec)];
}

/** Loops the templates for `durationS` at `fps`: seq and t keep increasing across loops. */
export function* loopFrames(templates: readonly FrameInput[], fps: number, durationS: number, clockOffsetS = 100): Generator<FrameInput> {
  const total = Math.round(durationS * fps);
  for (let seq = 0; seq < total; seq++) {
    const tpl = templates[seq % templates.length];
    if (!tpl) return;
    yield { ...tpl, seq, t: clockOffsetS + seq / fps };
  }
}

export async function runScenario(s: Scenario): Promise<SimulationReport> {
  const templates = frameTemplates(s.recording);
  const floor = floorPlane(s.recording);
  const latency = new LatencyHistogram();
  const now = () => performance.now();
  const t0 = now() + 50;
  const runs = Array.from({ length: s.sessions }, (_, i) =>
    runSession({
      url: s.url,
      token: s.token,
      hello: { patientId: s.patients[i % s.patients.length] ?? 'p0', assessment: s.recording.meta.assessment ?? 'gait', fps: s.fps, device: SIMULATED_DEVICE },
      frames: loopFrames(templates, s.fps, s.durationS),
      planes: floor ? [floor] : [],
      speed: 1,
      startAt: t0 + (s.sessions > 1 ? (i * s.rampS * 1000) / s.sessions : 0),
      latency,
      WebSocket: s.WebSocket,
      warmupS: s.warmupS ?? 0,
    }),
  );
  const results = await Promise.all(runs);
  return summarize(results, latency, (now() - t0) / 1000);
}
