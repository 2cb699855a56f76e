// One simulated iPad: opens an ingest session, sends the frames at their recorded times (× speed,
// paced against a monotonic clock without drift: pace.ts) and measures, per frame, send → feedback
// latency. Acks are cumulative: a frame counts as acked when an ack ≥ its seq came.
import {
  ClientError,
  connectIngest,
  defaultTimers,
  type FrameInput,
  type HelloInfo,
  type IngestClient,
  type Timers,
  type WebSocketConstructor,
} from '../sdk/index.js';
import type { PlaneAnchor } from '../../src/protocol/index.js';
import type { LatencyHistogram } from './latency-histogram.js';
import { PoseErrorTracker, type PoseErrorStats } from './pose-error.js';
import { pace, sleepUntil } from './pace.js';

export interface RunSessionOptions {
  readonly url: string;
  readonly token: string;
  readonly hello: HelloInfo;
  readonly frames: Iterable<FrameInput>;
  readonly planes?: readonly PlaneAnchor[];
  /** Playback speed: 1 = real time, 2 = twice as fast; Infinity = as fast as the send pacing allows. */
  readonly speed: number;
  /** Monotonic time (timers.now(), ms) at which the first frame is due. */
  readonly startAt: number;
  readonly latency: LatencyHistogram;
  readonly WebSocket?: WebSocketConstructor;
  readonly timers?: Timers;
  /** Unacked frames the SDK keeps for resends (default: SDK default). */
  readonly maxUnacked?: number;
  /**
   * Frames in the first this-many seconds of the recording are not put in the latency histogram
   * (warm-up: model loads, JIT); they still count for feedback/ack. Default 0.
   */
  readonly warmupS?: number;
  /** Stop sending early (load tests); the session is still ended cleanly. */
  readonly signal?: AbortSignal;
  /** Scores the server's predicted poses against the poses it computed later (pose-error.ts); off when absent. */
  readonly poseError?: PoseErrorStats;
}

export interface SessionResult {
  readonly sessionId: string;
  readonly framesSent: number;
  readonly feedbackReceived: number;
  readonly acked: number;
  readonly shed: number;
  /** Frames the SDK refused (unacked buffer full). */
  readonly refused: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Why the session failed (ClientError code), if it did. */
  readonly failure: string | undefined;
  readonly endedFrames: number | undefined;
}

export async function runSession(opts: RunSessionOptions): Promise<SessionResult> {
  const timers = opts.timers ?? defaultTimers;
  const errors: Record<string, number> = {};
  const countError = (code: string) => (errors[code] = (errors[code] ?? 0) + 1);
  await sleepUntil(timers, opts.startAt);
  let client: IngestClient;
  try {
    client = await connectIngest({
      url: opts.url,
      token: opts.token,
      hello: opts.hello,
      timers,
      ...(opts.WebSocket ? { WebSocket: opts.WebSocket } : {}),
      ...(opts.maxUnacked ? { maxUnacked: opts.maxUnacked } : {}),
    });
  } catch (error) {
    const code = error instanceof ClientError ? error.code : 'CONNECT_FAILED';
    countError(code);
    return {
      sessionId: '',
      framesSent: 0,
      feedbackReceived: 0,
      acked: 0,
      shed: 0,
      refused: 0,
      errors,
      failure: `${code}: ${(error as Error).message}`,
      endedFrames: undefined,
    };
  }
  // Send times of frames still waiting for feedback; bounded by the recording's length.
  const sentAt = new Map<number, number>();
  const warm = new Set<number>();
  const sentSeqs: number[] = [];
  let feedbackReceived = 0;
  let shed = 0;
  const poses = opts.poseError ? new PoseErrorTracker(opts.poseError) : undefined;
  client.on('feedback', (f) => {
    poses?.observe(f);
    const t = sentAt.get(f.seq);
    if (t === undefined) return;
    sentAt.delete(f.seq);
    feedbackReceived++;
    if (f.shed) shed++;
    if (warm.delete(f.seq)) return;
    opts.latency.record(timers.now() - t);
  });
  client.on('error', (e) => countError(e.code));

  let refused = 0;
  let failure: string | undefined;
  try {
    if (opts.planes?.length) client.sendEnv(opts.planes);
    let t0: number | undefined;
    for await (const { frame } of pace(opts.frames, { speed: opts.speed, startAt: opts.startAt, timers, ...(opts.signal ? { signal: opts.signal } : {}) })) {
      t0 ??= frame.t;
      if (client.currentState !== 'ready' && client.currentState !== 'reconnecting') break;
      try {
        sentAt.set(frame.seq, timers.now());
        if (frame.t - t0 < (opts.warmupS ?? 0)) warm.add(frame.seq);
        client.sendFrame(frame);
        sentSeqs.push(frame.seq);
      } catch (error) {
        sentAt.delete(frame.seq);
        warm.delete(frame.seq);
        if (!(error instanceof ClientError)) throw error;
        refused++;
        countError(error.code);
      }
    }
    if (client.currentState === 'ready' || client.currentState === 'reconnecting') await client.end();
    else await client.ended;
  } catch (error) {
    failure = error instanceof ClientError ? `${error.code}: ${error.message}` : String(error);
    if (error instanceof ClientError) countError(error.code);
    client.close();
  }
  const lastAcked = client.stats.lastAckedSeq;
  const acked = sentSeqs.filter((s) => s <= lastAcked).length;
  const ended = await client.ended.then(
    (e) => e.frames,
    () => undefined,
  );
  return { sessionId: client.sessionId, framesSent: sentSeqs.length, feedbackReceived, acked, shed, refused, errors, failure, endedFrames: ended };
}
