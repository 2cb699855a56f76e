// Finished sessions for the dashboard: the clinic's recordings on this node's disk and, with an
// artifact store, those every node published (src/recordings/finished-index: listed from their small
// entries; a recording from another node is replayed from a temporary copy, removed after), and one
// recording replayed into the states a dashboard saw live. The replay runs the recorded wire frames through the
// same per-session pipeline factory and the same inference service as live ingest (frames answered in
// order, a bounded number in flight so live sessions keep their share of the batches), then keeps
// one state per 1/updateHz of device time, as the live hub's throttle does.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BehaviorSubject } from 'rxjs';
import type { PlaneAnchor } from '../../streams/types.js';
import { decodeClientMessage, Id, MAX_REPLAY_UPDATES, type Replay, type ReplayState } from '../protocol/index.js';
import { RecordingError, RecordingErrorCode } from '../recordings/errors.js';
import { createFinishedIndex } from '../recordings/finished-index.js';
import { locateRecording } from '../recordings/locate-recording.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { RECORDING_EXT } from '../storage/recording-format.js';
import { RecordingReader } from '../storage/recording-reader.js';
import { SESSION_RECORD_TYPE, type SessionRecord } from './recording-store.js';
import type { FrameMsg, Inference, InferenceOk, InferenceShed, PipelineFactory, PipelineState } from './types.js';

/** Inference requests one replay keeps in flight (live sessions share the batches with it). */
export const REPLAY_IN_FLIGHT = 16;
/** Times a frame is submitted before its state is left without a prediction. */
export const REPLAY_ATTEMPTS = 3;
/** Recordings looked at per listing, newest first (bounds the directory scan). */
export const MAX_LISTED_RECORDINGS = 200;

export interface FinishedSession {
  readonly sessionId: string;
  readonly patientId: string;
  readonly assessment: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601: when the recording file was last written. */
  readonly endedAt: string;
}

/** What the HTTP routes need (swappable for another replay implementation). */
export interface SessionReplaySource {
  /** Finished sessions of a clinic, newest first; `patient` narrows to one patient. */
  list(clinic: string, patient?: string): Promise<FinishedSession[]>;
  /** The session's states, or undefined when it is not a finished session of this clinic. */
  replay(clinic: string, sessionId: string): Promise<Replay | undefined>;
}

export interface SessionReplayOptions {
  readonly recordingsDir: string;
  readonly pipeline: PipelineFactory;
  readonly inference: Inference;
  readonly updateHz: number;
  /** A session that is still live is not "finished" (its recording is still being written). */
  readonly isLive: (sessionId: string) => boolean;
  /**
   * Where every node publishes its finalised recordings (distributed: the NATS object store): its
   * sessions are listed and replayed too; a copy of a recording from another node is written under
   * `tmpDir` for the replay and removed after it.
   */
  readonly published?: { readonly artifacts: ArtifactStore; readonly tmpDir: string };
}

const isId = (s: string): boolean => Id.safeParse(s).success;

async function sessionRecord(path: string): Promise<SessionRecord | undefined> {
  const reader = new RecordingReader(path);
  for await (const entry of reader.records()) {
    const v = entry.value as Partial<SessionRecord> | null;
    return v?.type === SESSION_RECORD_TYPE ? (v as SessionRecord) : undefined;
  }
  return undefined;
}

export function createSessionReplay(o: SessionReplayOptions): SessionReplaySource {
  const pathOf = (sessionId: string) => join(o.recordingsDir, `${sessionId}${RECORDING_EXT}`);
  const index = o.published ? createFinishedIndex(o.published.artifacts) : undefined;

  const listLocal = async (clinic: string, patient: string | undefined): Promise<FinishedSession[]> => {
    const names = await readdir(o.recordingsDir).catch(() => [] as string[]);
    const files = await Promise.all(
      names
        .filter((n) => n.endsWith(RECORDING_EXT) && isId(n.slice(0, -RECORDING_EXT.length)))
        .map(async (n) => ({ id: n.slice(0, -RECORDING_EXT.length), mtime: (await stat(join(o.recordingsDir, n)).catch(() => undefined))?.mtimeMs })),
    );
    const newest = files
      .filter((f): f is { id: string; mtime: number } => f.mtime !== undefined && !o.isLive(f.id))
      .sort((a, b) => b.mtime - a.mtime)
      .slice(0, MAX_LISTED_RECORDINGS);
    const out: FinishedSession[] = [];
    for (const f of newest) {
      const meta = await sessionRecord(pathOf(f.id)).catch(() => undefined);
      if (!meta || meta.clinic !== clinic || (patient !== undefined && meta.patientId !== patient)) continue;
      out.push({
        sessionId: meta.sessionId,
        patientId: meta.patientId,
        assessment: meta.assessment,
        startedAt: new Date(meta.startedAt).toISOString(),
        endedAt: new Date(f.mtime).toISOString(),
      });
    }
    return out;
  };

  /** This node's file when it has one (no copy), else the published recording's temporary copy. */
  const locate = async (clinic: string, sessionId: string): Promise<{ path: string; release(): Promise<void> } | undefined> => {
    const path = pathOf(sessionId);
    if (await stat(path).catch(() => undefined)) return { path, release: async () => undefined };
    if (!o.published) return undefined;
    try {
      return await locateRecording(o.published.artifacts, { clinic, sessionId, path }, o.published.tmpDir);
    } catch (cause) {
      if (cause instanceof RecordingError && cause.code === RecordingErrorCode.NOT_FOUND) return undefined;
      throw cause;
    }
  };

  const replayFile = async (path: string, clinic: string, sessionId: string): Promise<Replay | undefined> => {
    const reader = new RecordingReader(path);
    let meta: SessionRecord | undefined;
    const frames: FrameMsg[] = [];
    const planes$ = new BehaviorSubject<readonly PlaneAnchor[]>([]);
    const envAt = new Map<number, readonly PlaneAnchor[]>(); // plane updates keyed by the frame index they precede
    for await (const entry of reader.records()) {
      if (entry.seq === 0) {
        const v = entry.value as Partial<SessionRecord> | null;
        if (v?.type !== SESSION_RECORD_TYPE || v.clinic !== clinic) return undefined; // another clinic's: "not found"
        meta = v as SessionRecord;
        continue;
      }
      const decoded = decodeClientMessage(entry.payload, 'ingest');
      if (!decoded.ok) continue;
      const m = decoded.message;
      if (m.type === 'frame') frames.push(m);
      else if (m.type === 'env') envAt.set(frames.length, m.planes as readonly PlaneAnchor[]);
    }
    if (!meta) return undefined;
    const assessment = meta.assessment as Replay['assessment'];

    // Frames → states, synchronously one per frame (the live session relies on the same property).
    const states: { frame: FrameMsg; state: PipelineState }[] = [];
    const pipeline = o.pipeline({ assessment, fps: meta.fps, planes$ });
    try {
      frames.forEach((f, i) => {
        const planes = envAt.get(i);
        if (planes) planes$.next(planes);
        const state = pipeline.step(f);
        if (state) states.push({ frame: f, state });
      });
    } finally {
      pipeline.close();
    }

    // Every frame goes through inference (surprise compares a latent with what was predicted for it).
    const replayId = `replay-${sessionId}-${Date.now().toString(36)}`.slice(0, 128);
    const results: (InferenceOk | InferenceShed)[] = new Array(states.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < states.length) {
        const i = next++;
        const s = states[i]!;
        // The frame's world joints go along, as live: engines that decode predicted poses start from them.
        const req = { sessionId: replayId, patientId: meta.patientId, seq: s.frame.seq, x: s.state.features, pose: s.state.joints };
        const ask = () => o.inference.submit(req).catch((cause: unknown): InferenceShed => ({ shed: true, reason: String(cause) }));
        // A frame shed under live load is asked again (a replay has no deadline; live frames do).
        let r = await ask();
        for (let attempt = 1; r.shed === true && attempt < REPLAY_ATTEMPTS; attempt++) r = await ask();
        results[i] = r;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(REPLAY_IN_FLIGHT, states.length) }, worker));
    } finally {
      o.inference.endSession?.(replayId);
    }

    const interval = 1 / o.updateHz;
    let lastT = -Infinity;
    const updates: ReplayState[] = [];
    let truncated = false;
    states.forEach(({ frame, state }, i) => {
      if (frame.t - lastT < interval - 1e-9) return;
      if (updates.length >= MAX_REPLAY_UPDATES) {
        truncated = true;
        return;
      }
      lastT = frame.t;
      const r = results[i];
      const ok = r && r.shed !== true ? r : undefined;
      const finite = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
      updates.push({
        type: 'update',
        sessionId,
        seq: frame.seq,
        t: frame.t,
        joints: state.joints,
        phase: state.phase || 'unknown',
        contacts: { left: state.contacts.left, right: state.contacts.right },
        metrics: Object.fromEntries(Object.entries(state.metrics).filter(([, v]) => Number.isFinite(v))),
        uncertainty: finite(ok?.uncertainty),
        surprise: finite(ok?.surprise),
        predictions: (ok?.predictions ?? []).map((p) => {
          const perHorizon = (p as { uncertainty?: number }).uncertainty;
          return {
            h: p.horizon,
            uncertainty: finite(perHorizon ?? ok?.uncertainty),
            ...(p.pose ? { pose: p.pose } : {}),
          };
        }),
      });
    });
    return {
      type: 'replay',
      sessionId,
      clinic,
      patientId: meta.patientId,
      assessment,
      startedAt: meta.startedAt,
      frames: frames.length,
      updateHz: o.updateHz,
      truncated,
      updates,
    };
  };

  return {
    async list(clinic, patient) {
      const local = await listLocal(clinic, patient);
      if (!index) return local;
      // Every node's published sessions, with this node's (also those not published: older files).
      const byId = new Map(local.map((f) => [f.sessionId, f]));
      for (const e of await index.list(clinic, patient)) {
        if (byId.has(e.sessionId) || o.isLive(e.sessionId)) continue;
        byId.set(e.sessionId, { sessionId: e.sessionId, patientId: e.patientId, assessment: e.assessment, startedAt: e.startedAt, endedAt: e.endedAt });
      }
      return [...byId.values()].sort((a, b) => Date.parse(b.endedAt) - Date.parse(a.endedAt)).slice(0, MAX_LISTED_RECORDINGS);
    },

    async replay(clinic, sessionId) {
      if (!isId(sessionId) || o.isLive(sessionId)) return undefined;
      const found = await locate(clinic, sessionId);
      if (!found) return undefined;
      try {
        return await replayFile(found.path, clinic, sessionId);
      } finally {
        await found.release();
      }
    },
  };
}
