// `jepa-motion replay`: the iPad simulator. Replays recordings as ARKit sessions against a server and
// prints {sessions, frames_sent, feedback_received, acked, errors, latency_ms}. Exit 1 when any frame
// got no feedback or no ack (or a session failed), so CI and smoke checks can rely on the status.
import type { WebSocketConstructor } from '../../clients/sdk/index.js';
import { loadRecordings, reportOk, simulate, type SimulationReport } from '../../clients/simulator/simulate.js';
import { Assessment } from '../protocol/index.js';
import { intFlag, parseFlags, UsageError, type CliIo } from './io.js';

export const replayUsage =
  'jepa-motion replay <recording…> --url ws://host:port [--sessions N] [--speed 1] [--token T] [--patient P] [--assessment A] [--ramp-ms 1000] [--json]';

/** Node 22 and browsers have a global WebSocket; Node 20 uses the `ws` package. */
async function webSocketImpl(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  try {
    return (await import('ws')).default as WebSocketConstructor;
  } catch (cause) {
    throw new UsageError('no WebSocket implementation: this Node has no global WebSocket and the `ws` package is not installed', { cause });
  }
}

/** The patient when neither `--patient` nor the token names one (an admin token may stream for anyone). */
export const DEFAULT_PATIENT = 'sim-patient';

/**
 * The `patient` claim of a device token, read WITHOUT verifying the signature: only to fill in
 * `hello.patientId` (a device token is scoped to one patient, so any other is refused); the server
 * verifies the token. Undefined when the token is not a JWT or names no patient.
 */
export function patientClaim(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    const patient = (claims as { patient?: unknown } | null)?.patient;
    return typeof patient === 'string' ? patient : undefined;
  } catch {
    return undefined;
  }
}

/** The SDK's default send pacing (IngestOptions.sendRate.perS). */
const SDK_SEND_RATE_PER_S = 200;

function speedFlag(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n) || n > 1000) throw new UsageError(`--speed ${value}: must be a number > 0 and ≤ 1000`);
  return n;
}

function render(r: SimulationReport): string {
  const l = r.latency_ms;
  const lines = [
    `replay: ${r.sessions} session(s), ${r.frames_sent} frames sent in ${r.duration_s} s`,
    `  feedback ${r.feedback_received} (missing ${r.missing_feedback}, shed ${r.shed}), acked ${r.acked} (missing ${r.missing_ack}), errors ${r.errors}${r.refused ? `, refused ${r.refused}` : ''}`,
    `  latency ms: p50 ${l.p50}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max}`,
  ];
  for (const [h, e] of Object.entries(r.pose_error?.horizons ?? {})) {
    lines.push(`  predicted pose error Δh ${h}: model ${e.model} mm, zero-velocity ${e.zero_velocity} mm (${e.pairs} frames)`);
  }
  if (r.pose_error && Object.keys(r.pose_error.horizons).length > 0) lines.push(`  (${r.pose_error.definition})`);
  for (const [code, n] of Object.entries(r.error_codes)) lines.push(`  error ${code}: ${n}`);
  for (const f of r.failures) lines.push(`  failed: ${f}`);
  return `${lines.join('\n')}\n`;
}

export async function replayCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    url: { type: 'string' },
    sessions: { type: 'string' },
    speed: { type: 'string' },
    token: { type: 'string' },
    patient: { type: 'string' },
    assessment: { type: 'string' },
    'ramp-ms': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length === 0) throw new UsageError('expected at least one recording');
  if (!values.url) throw new UsageError('--url is required (e.g. ws://127.0.0.1:8080)');
  if (!/^(wss?|https?):\/\//.test(values.url)) throw new UsageError(`--url ${values.url}: must start with ws:// or wss://`);
  // Tokens are better kept out of argv (visible in ps): JEPA_TOKEN is read when --token is absent.
  const token = values.token ?? io.env.JEPA_TOKEN;
  if (!token) throw new UsageError('a device token is required: --token T or JEPA_TOKEN');
  let assessment: Assessment | undefined;
  if (values.assessment !== undefined) {
    const parsed = Assessment.safeParse(values.assessment);
    if (!parsed.success) throw new UsageError(`--assessment ${values.assessment}: one of ${Assessment.options.join(', ')}`);
    assessment = parsed.data;
  }
  const sessions = intFlag('sessions', values.sessions, 1, 10_000) ?? 1;
  const rampMs = intFlag('ramp-ms', values['ramp-ms'], 0, 3_600_000) ?? 1000;
  const speed = speedFlag(values.speed);
  const patientId = values.patient ?? patientClaim(token) ?? DEFAULT_PATIENT;
  const recordings = await loadRecordings(positionals);
  const WebSocket = await webSocketImpl();
  const maxFps = Math.max(...recordings.map((r) => r.recording.meta.fps));
  if (maxFps * speed > SDK_SEND_RATE_PER_S) {
    // The SDK paces sends below the server's per-connection rate limit; faster playback queues client-side.
    io.err(
      `replay: ${maxFps} fps × speed ${speed} exceeds ${SDK_SEND_RATE_PER_S} frames/s per session: frames are paced, latency includes client-side queueing\n`,
    );
  }
  const report = await simulate({ url: values.url, token, recordings, sessions, speed, patientId, rampMs, WebSocket, ...(assessment ? { assessment } : {}) });
  if (values.json) {
    const { sessions: s, frames_sent, feedback_received, acked, errors, latency_ms, ...details } = report;
    io.out(
      `${JSON.stringify({ sessions: s, frames_sent, feedback_received, acked, errors, latency_ms: { p50: latency_ms.p50, p95: latency_ms.p95, p99: latency_ms.p99, max: latency_ms.max }, ...details })}\n`,
    );
  } else {
    io.out(render(report));
  }
  return reportOk(report) ? 0 : 1;
}
