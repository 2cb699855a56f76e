// N simulated iPads replaying recordings concurrently (round-robin over the recordings), with
// staggered starts so the server does not see N hellos in the same millisecond. The report is what
// `jepa-motion replay` prints.
import { defaultTimers, type Timers, type WebSocketConstructor } from '../sdk/index.js';
import type { Assessment, PlaneAnchor } from '../../src/protocol/index.js';
import { readRecording } from '../../streams/adapters/read-recording.js';
import type { Recording } from '../../streams/types.js';
import { arkitFrames, floorPlane } from './arkit-frames.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import { PoseErrorStats, type PoseErrorReport } from './pose-error.js';
import { runSession, type SessionResult } from './run-session.js';

/** Devices the simulator claims to be in `hello.device`. */
export const SIMULATED_DEVICE = { model: 'iPad13,8', os: 'iPadOS 17.4', app: 'jepa-motion-simulator 0.1.0' } as const;

export interface SimulationOptions {
  readonly url: string;
  readonly token: string;
  /** Recordings (already read); session i replays recordings[i % length]. */
  readonly recordings: readonly { readonly name: string; readonly recording: Recording }[];
  readonly sessions: number;
  readonly speed: number;
  readonly patientId: string;
  /** Default: the recording's own assessment, else gait. */
  readonly assessment?: Assessment;
  /** Session starts are spread evenly over this many ms (default 1000). */
  readonly rampMs?: number;
  /** Offset of the simulated device clock (s): frame t = recording t + this (default 100). */
  readonly clockOffsetS?: number;
  readonly WebSocket?: WebSocketConstructor;
  readonly timers?: Timers;
  readonly maxUnacked?: number;
  readonly signal?: AbortSignal;
}

export interface SimulationReport {
  readonly sessions: number;
  readonly frames_sent: number;
  readonly feedback_received: number;
  readonly acked: number;
  /** Wire errors and client failures, total. */
  readonly errors: number;
  readonly latency_ms: LatencySummary;
  readonly missing_feedback: number;
  readonly missing_ack: number;
  readonly shed: number;
  readonly refused: number;
  readonly failed_sessions: number;
  readonly error_codes: Readonly<Record<string, number>>;
  readonly duration_s: number;
  readonly failures: readonly string[];
  /** Predicted-vs-actual pose error per horizon (pose-error.ts), when the replay scored it. */
  readonly pose_error?: PoseErrorReport;
}

/** Reads each recording once (any format the adapters know) with the planes its replay sends. */
export async function loadRecordings(paths: readonly string[]): Promise<{ name: string; recording: Recording }[]> {
  const out = [];
  for (const path of paths) out.push({ name: path, recording: await readRecording(path) });
  return out;
}

export function summarize(results: readonly SessionResult[], latency: LatencyHistogram, durationS: number, poseError?: PoseErrorStats): SimulationReport {
  const sum = (f: (r: SessionResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const codes: Record<string, number> = {};
  for (const r of results) for (const [c, n] of Object.entries(r.errors)) codes[c] = (codes[c] ?? 0) + n;
  const framesSent = sum((r) => r.framesSent);
  const feedback = sum((r) => r.feedbackReceived);
  const acked = sum((r) => r.acked);
  return {
    sessions: results.length,
    frames_sent: framesSent,
    feedback_received: feedback,
    acked,
    errors: Object.values(codes).reduce((a, n) => a + n, 0),
    latency_ms: latency.summary(),
    missing_feedback: framesSent - feedback,
    missing_ack: framesSent - acked,
    shed: sum((r) => r.shed),
    refused: sum((r) => r.refused),
    failed_sessions: results.filter((r) => r.failure !== undefined).length,
    error_codes: codes,
    duration_s: Math.round(durationS * 1000) / 1000,
    failures: results.flatMap((r) => (r.failure ? [r.failure] : [])).slice(0, 10),
    ...(poseError ? { pose_error: poseError.report() } : {}),
  };
}

/** Runs the simulation; resolves once every session ended (or failed). */
export async function simulate(opts: SimulationOptions): Promise<SimulationReport> {
  if (opts.recordings.length === 0) throw new RangeError('simulate: no recordings');
  if (!(opts.speed > 0)) throw new RangeError(`simulate: speed must be > 0, got ${opts.speed}`);
  const timers = opts.timers ?? defaultTimers;
  const latency = new LatencyHistogram();
  const poseError = new PoseErrorStats();
  const planes = new Map<Recording, PlaneAnchor[]>();
  for (const { recording } of opts.recordings) {
    const floor = floorPlane(recording);
    planes.set(recording, floor ? [floor] : []);
  }
  const t0 = timers.now();
  // The first hello goes out shortly after the start, so every session's schedule lies in the future.
  const ramp = opts.rampMs ?? 1000;
  const runs = Array.from({ length: opts.sessions }, (_, i) => {
    const entry = opts.recordings[i % opts.recordings.length];
    if (!entry) throw new RangeError('unreachable: recording index');
    const rec = entry.recording;
    return runSession({
      url: opts.url,
      token: opts.token,
      hello: { patientId: opts.patientId, assessment: opts.assessment ?? rec.meta.assessment ?? 'gait', fps: rec.meta.fps, device: SIMULATED_DEVICE },
      frames: arkitFrames(rec, { clockOffsetS: opts.clockOffsetS ?? 100 }),
      planes: planes.get(rec) ?? [],
      speed: opts.speed,
      startAt: t0 + (opts.sessions > 1 ? (i * ramp) / opts.sessions : 0),
      latency,
      poseError,
      timers,
      ...(opts.WebSocket ? { WebSocket: opts.WebSocket } : {}),
      ...(opts.maxUnacked ? { maxUnacked: opts.maxUnacked } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  });
  const results = await Promise.all(runs);
  return summarize(results, latency, (timers.now() - t0) / 1000, poseError);
}

/** Exit status for a report: 0 only when every sent frame got feedback and an ack. */
export function reportOk(r: SimulationReport): boolean {
  return r.frames_sent > 0 && r.missing_feedback === 0 && r.missing_ack === 0 && r.failed_sessions === 0;
}
