// Which world model serves which patient. Every inference node watches the registry and hot-swaps
// a patient's model between batches when a retrain job registers a newer version.
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Observable, Subject } from 'rxjs';
import { z } from 'zod';
import { StorageError, StorageErrorCode } from './errors.js';
import { syncDir } from './recording-log.js';

/** A registered model: enough to fetch it from the artifact store and verify it. */
export const ModelRef = z.object({
  /** Artifact id/key of the checkpoint. */
  id: z.string().min(1).max(512),
  /** Monotonic per patient; a registration must be newer than the current one. */
  version: z.number().int().nonnegative(),
  /** SHA-256 (hex) of the checkpoint bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** e.g. `pretrained`, `clinic`, `patient-adapter`. */
  kind: z.string().min(1).max(64),
});
export type ModelRef = z.infer<typeof ModelRef>;

export interface ModelUpdate {
  readonly patientId: string;
  readonly ref: ModelRef;
}

export interface ModelRegistry {
  get(patientId: string): Promise<ModelRef | undefined>;
  /** Rejects with REGISTRY_STALE when `ref.version` is not newer than the registered one. */
  register(patientId: string, ref: ModelRef): Promise<void>;
  /** Every patient's current model, sorted by patient id. */
  list(): Promise<ModelUpdate[]>;
  /** Emits every current entry first, then each registration as it happens. Unsubscribe to stop. */
  watch(): Observable<ModelUpdate>;
}

const PATIENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function checkPatientId(patientId: string): string {
  if (typeof patientId !== 'string' || !PATIENT_ID.test(patientId)) {
    throw new StorageError(StorageErrorCode.REGISTRY_BAD_KEY, `bad patient id ${JSON.stringify(patientId)}: 1..128 chars of [A-Za-z0-9_-]`);
  }
  return patientId;
}

export function checkRef(ref: unknown, what: string): ModelRef {
  const r = ModelRef.safeParse(ref);
  if (!r.success)
    throw new StorageError(StorageErrorCode.REGISTRY_MALFORMED, `${what}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export function staleError(patientId: string, current: number, offered: number): StorageError {
  return new StorageError(StorageErrorCode.REGISTRY_STALE, `patient ${patientId} already has model version ${current}; refusing version ${offered}`);
}

/**
 * Single-process registry (embedded mode). With `file`, every registration is persisted atomically
 * (temp + fsync + rename) and loaded again on open.
 */
export class LocalModelRegistry implements ModelRegistry {
  private readonly updates = new Subject<ModelUpdate>();
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly entries: Map<string, ModelRef>,
    private readonly file: string | undefined,
  ) {}

  static async open(opts: { file?: string } = {}): Promise<LocalModelRegistry> {
    const entries = new Map<string, ModelRef>();
    if (opts.file !== undefined) {
      let text: string | undefined;
      try {
        text = await readFile(opts.file, 'utf8');
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'ENOENT')
          throw new StorageError(StorageErrorCode.REGISTRY_IO, 'cannot read model registry', { cause, path: opts.file });
      }
      if (text !== undefined) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (cause) {
          throw new StorageError(StorageErrorCode.REGISTRY_MALFORMED, 'model registry file is not JSON', { cause, path: opts.file });
        }
        const file = z.record(z.string().regex(PATIENT_ID), ModelRef).safeParse(parsed);
        if (!file.success) throw new StorageError(StorageErrorCode.REGISTRY_MALFORMED, `model registry file: ${file.error.message}`, { path: opts.file });
        for (const [k, v] of Object.entries(file.data)) entries.set(k, v);
      }
    }
    return new LocalModelRegistry(entries, opts.file);
  }

  async get(patientId: string): Promise<ModelRef | undefined> {
    return this.entries.get(checkPatientId(patientId));
  }

  register(patientId: string, ref: ModelRef): Promise<void> {
    // Serialised so concurrent registrations persist in order and the version check is exact.
    const run = this.chain.then(async () => {
      checkPatientId(patientId);
      const r = checkRef(ref, 'model ref');
      const cur = this.entries.get(patientId);
      if (cur && cur.version >= r.version) throw staleError(patientId, cur.version, r.version);
      const next = new Map(this.entries).set(patientId, r);
      if (this.file !== undefined) await persist(this.file, next);
      this.entries.set(patientId, r);
      this.updates.next({ patientId, ref: r });
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  async list(): Promise<ModelUpdate[]> {
    return [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([patientId, ref]) => ({ patientId, ref }));
  }

  watch(): Observable<ModelUpdate> {
    return new Observable<ModelUpdate>((sub) => {
      // Snapshot and subscribe in the same tick: nothing registered in between can be missed.
      const live = this.updates.subscribe(sub);
      for (const [patientId, ref] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) sub.next({ patientId, ref });
      return live;
    });
  }
}

async function persist(file: string, entries: Map<string, ModelRef>): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(Object.fromEntries(entries), null, 1));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await syncDir(dirname(file));
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new StorageError(StorageErrorCode.REGISTRY_IO, 'cannot persist model registry', { cause, path: file });
  }
}
