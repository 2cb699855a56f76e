// The clinic-wide list of finished sessions: beside each published recording, a small JSON entry
// (who, what, when) under keys.ts finishedKey(clinic, endedAt, session). The key alone names the
// clinic and sorts by end time, so listing the newest N of a clinic is one key listing plus at most
// N small reads — never a read of a recording (tens of MB) — from any node. Entries never change
// once written (same session, same entry), so a node keeps the ones it has read in a bounded cache
// and a dashboard's periodic refresh reads only the entries that are new since the last one.
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { Id } from '../protocol/index.js';
import { SESSION_RECORD_TYPE, type SessionRecord } from '../sessions/recording-store.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { StorageError, StorageErrorCode } from '../storage/errors.js';
import { clinicPrefix, FINISHED_PREFIX, finishedKey, recordingKey } from '../storage/keys.js';
import { RecordingReader } from '../storage/recording-reader.js';

/** Entries read per listing, newest first (bounds the reads of one request; older sessions are not listed). */
export const MAX_FINISHED_LISTED = 200;
/** Parsed entries a node keeps (~300 B each); beyond it the oldest-read are dropped and read again if asked. */
export const FINISHED_CACHE_ENTRIES = 5000;
/** Entry reads in flight at once (each is an object-store read over NATS). */
const READS_IN_FLIGHT = 8;

export const FinishedEntry = z.object({
  sessionId: Id,
  clinic: z.string().min(1),
  patientId: z.string().min(1),
  assessment: z.string().min(1),
  /** ISO 8601. */
  startedAt: z.iso.datetime(),
  /** ISO 8601: when the recording was finalised. */
  endedAt: z.iso.datetime(),
  /** The recording's artifact key (keys.ts recordingKey). */
  recording: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FinishedEntry = z.infer<typeof FinishedEntry>;

/**
 * The entry for a finalised local recording, from its record 0 (the session record the server
 * writes first); undefined when the file has none or is no recording log (not a server recording:
 * nothing to list it by).
 */
export async function finishedEntryOf(path: string, sha256: string): Promise<FinishedEntry | undefined> {
  let meta: SessionRecord | undefined;
  try {
    for await (const entry of new RecordingReader(path).records()) {
      const v = entry.value as Partial<SessionRecord> | null;
      if (v?.type === SESSION_RECORD_TYPE) meta = v as SessionRecord;
      break;
    }
  } catch (cause) {
    if (cause instanceof StorageError && cause.code === StorageErrorCode.LOG_BAD_HEADER) return undefined;
    throw cause;
  }
  // A record without a valid start time (not written by a server) has nothing to be listed by either.
  if (!meta || !Number.isFinite(meta.startedAt)) return undefined;
  const endedAt = (await stat(path)).mtime;
  const parsed = FinishedEntry.safeParse({
    sessionId: meta.sessionId,
    clinic: meta.clinic,
    patientId: meta.patientId,
    assessment: meta.assessment,
    startedAt: new Date(meta.startedAt).toISOString(),
    endedAt: endedAt.toISOString(),
    recording: recordingKey(meta.clinic, meta.sessionId),
    sha256,
  });
  return parsed.success ? parsed.data : undefined;
}

export async function writeFinishedEntry(artifacts: ArtifactStore, e: FinishedEntry): Promise<string> {
  const key = finishedKey(e.clinic, new Date(e.endedAt), e.sessionId);
  await artifacts.put(key, new TextEncoder().encode(JSON.stringify(e)));
  return key;
}

export interface FinishedIndex {
  /** The clinic's finished sessions, newest first, from the newest MAX_FINISHED_LISTED entries. */
  list(clinic: string, patient?: string): Promise<FinishedEntry[]>;
}

export function createFinishedIndex(artifacts: ArtifactStore, o: { readonly cacheEntries?: number } = {}): FinishedIndex {
  const cap = o.cacheEntries ?? FINISHED_CACHE_ENTRIES;
  // Insertion-ordered: the first key is the one read longest ago. `null` = an unreadable entry (skipped).
  const cache = new Map<string, FinishedEntry | null>();
  const read = async (key: string): Promise<FinishedEntry | null> => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let entry: FinishedEntry | null = null;
    try {
      const parsed = FinishedEntry.safeParse(JSON.parse(new TextDecoder().decode(await artifacts.get(key))));
      entry = parsed.success ? parsed.data : null;
    } catch (cause) {
      if (!(cause instanceof SyntaxError)) throw cause; // a store failure is not "unreadable": not cached
    }
    cache.set(key, entry);
    if (cache.size > cap) cache.delete(cache.keys().next().value as string);
    return entry;
  };
  return {
    async list(clinic, patient) {
      const keys = (await artifacts.list(clinicPrefix(FINISHED_PREFIX, clinic))).slice(-MAX_FINISHED_LISTED).reverse();
      const entries: (FinishedEntry | null)[] = new Array(keys.length);
      let next = 0;
      const reader = async (): Promise<void> => {
        while (next < keys.length) {
          const i = next++;
          entries[i] = await read(keys[i]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, keys.length) }, reader));
      return entries
        .filter((e): e is FinishedEntry => e !== null && e.clinic === clinic && (patient === undefined || e.patientId === patient))
        .sort((a, b) => Date.parse(b.endedAt) - Date.parse(a.endedAt));
    },
  };
}
