// A patient's earlier recordings as features, kept in the artifact store so any worker (embedded or on
// another node, where the session's recording file does not exist) can retrain on them without
// re-running the pipeline. One NPZ per session (numpy-readable for audit): x [T,F] f4, t [T] f8,
// poses [T,60] f4, meta = UTF-8 JSON {names, source} as u1.
//
// Bound: training reads the newest `limit` entries only. The store has no delete, so older entries
// stay as the audit trail of what earlier models were trained on.
import { z } from 'zod';
import { decodeNpz, encodeNpz, type NpyArray } from '../../../models/npz.js';
import type { FeatureSequence } from '../../../models/types.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { historyPrefix } from '../../storage/keys.js';

export const DEFAULT_HISTORY_LIMIT = 8;

const Meta = z.object({
  names: z.array(z.string()),
  source: z.object({ file: z.string(), sha256: z.string(), subject: z.string().optional() }),
});

// The key layout is src/storage/keys.ts; re-exported for this module's callers.
export { historyKey, historyPrefix, keySegment } from '../../storage/keys.js';

export function encodeSequence(s: FeatureSequence): Buffer {
  const f = s.names.length;
  const t = s.t.length;
  const meta = new TextEncoder().encode(JSON.stringify({ names: s.names, source: s.source }));
  const arrays: Record<string, NpyArray> = {
    x: { dtype: '<f4', shape: [t, f], data: s.x },
    t: { dtype: '<f8', shape: [t], data: s.t },
    poses: { dtype: '<f4', shape: [t, 60], data: s.poses },
    meta: { dtype: '|u1', shape: [meta.length], data: meta },
  };
  return encodeNpz(arrays, { compress: true });
}

/** Throws (NpzError, ZodError, TypeError) on bytes that are not an encoded sequence. */
export function decodeSequence(bytes: Uint8Array): FeatureSequence {
  const a = decodeNpz(bytes);
  const meta = Meta.parse(JSON.parse(new TextDecoder().decode(a['meta']?.data as Uint8Array)));
  const x = a['x']?.data;
  const t = a['t']?.data;
  const poses = a['poses']?.data;
  if (!(x instanceof Float32Array) || !(t instanceof Float64Array) || !(poses instanceof Float32Array))
    throw new TypeError('feature NPZ lacks x/t/poses of the expected dtypes');
  if (x.length !== t.length * meta.names.length || poses.length !== t.length * 60) throw new TypeError('feature NPZ arrays do not agree in length');
  const { subject, ...rest } = meta.source;
  return { names: meta.names, x, t, poses, source: { ...rest, ...(subject !== undefined ? { subject } : {}) } };
}

export async function saveHistory(store: ArtifactStore, key: string, s: FeatureSequence): Promise<void> {
  await store.put(key, encodeSequence(s));
}

export interface HistoryEntry {
  readonly key: string;
  readonly sequence: FeatureSequence;
}

/**
 * The newest `limit` stored sequences of the patient, oldest first, excluding `exceptKey` (the job's
 * own recording, which the caller already has). An entry that cannot be decoded is skipped and
 * reported through `onBad`: one damaged artifact must not block every future retrain of the patient.
 */
export async function loadHistory(
  store: ArtifactStore,
  patientId: string,
  opts: { limit?: number; exceptKey?: string; onBad?: (key: string, error: unknown) => void } = {},
): Promise<HistoryEntry[]> {
  const limit = opts.limit ?? DEFAULT_HISTORY_LIMIT;
  if (limit <= 0) return [];
  const keys = (await store.list(historyPrefix(patientId))).filter((k) => k !== opts.exceptKey && k.endsWith('.npz'));
  const out: HistoryEntry[] = [];
  for (const key of keys.slice(-limit)) {
    const bytes = await store.get(key);
    try {
      out.push({ key, sequence: decodeSequence(bytes) });
    } catch (error) {
      opts.onBad?.(key, error);
    }
  }
  return out;
}
