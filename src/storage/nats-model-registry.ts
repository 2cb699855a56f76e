// ModelRegistry on a NATS KV bucket: shared by every node; registrations are compare-and-set on
// the key's revision, so two retrain workers racing cannot roll a patient back to an older model.
import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Observable } from 'rxjs';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { checkPatientId, checkRef, staleError, type ModelRef, type ModelRegistry, type ModelUpdate } from './model-registry.js';

export const DEFAULT_REGISTRY_BUCKET = 'jepa-models';
/** JetStream "wrong last sequence": the key changed (or appeared) since we read it. */
const WRONG_LAST_SEQUENCE = 10071;
const CAS_ATTEMPTS = 5;

export interface NatsModelRegistryOptions {
  readonly bucket?: string;
  /** Revisions kept per patient (audit trail of model changes). Default 10. */
  readonly history?: number;
  /** Replicas when the bucket is created (JetStream cluster size, 1–5). Default 1. */
  readonly replicas?: number;
  readonly logger?: Logger;
}

export class NatsModelRegistry implements ModelRegistry {
  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  static async open(nc: NatsConnection, opts: NatsModelRegistryOptions = {}): Promise<NatsModelRegistry> {
    const bucket = opts.bucket ?? DEFAULT_REGISTRY_BUCKET;
    try {
      const kv = await new Kvm(nc).create(bucket, { history: opts.history ?? 10, replicas: opts.replicas ?? 1 });
      return new NatsModelRegistry(kv, opts.logger ?? silentLogger);
    } catch (cause) {
      throw new StorageError(StorageErrorCode.REGISTRY_IO, `cannot open KV bucket ${bucket}`, { cause });
    }
  }

  async get(patientId: string): Promise<ModelRef | undefined> {
    return (await this.read(checkPatientId(patientId)))?.ref;
  }

  async register(patientId: string, ref: ModelRef): Promise<void> {
    checkPatientId(patientId);
    const r = checkRef(ref, 'model ref');
    const data = new TextEncoder().encode(JSON.stringify(r));
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const cur = await this.read(patientId);
      if (cur?.ref && cur.ref.version >= r.version) throw staleError(patientId, cur.ref.version, r.version);
      try {
        if (cur === undefined) await this.kv.create(patientId, data);
        else await this.kv.update(patientId, data, cur.revision);
        return;
      } catch (cause) {
        if (cause instanceof JetStreamApiError && cause.code === WRONG_LAST_SEQUENCE) continue; // lost a race: re-read
        if (isWrongSequence(cause)) continue;
        throw new StorageError(StorageErrorCode.REGISTRY_IO, `cannot register model for ${patientId}`, { cause });
      }
    }
    throw new StorageError(StorageErrorCode.REGISTRY_IO, `model registration for ${patientId} kept losing races (${CAS_ATTEMPTS} attempts)`);
  }

  async list(): Promise<ModelUpdate[]> {
    const out: ModelUpdate[] = [];
    try {
      for await (const key of await this.kv.keys()) {
        const e = await this.read(key).catch((error: unknown) => {
          this.logger.warn('model registry: skipping malformed entry', { key, error });
          return undefined;
        });
        if (e?.ref) out.push({ patientId: key, ref: e.ref });
      }
    } catch (cause) {
      throw new StorageError(StorageErrorCode.REGISTRY_IO, 'cannot list model registry', { cause });
    }
    return out.sort((a, b) => (a.patientId < b.patientId ? -1 : 1));
  }

  watch(): Observable<ModelUpdate> {
    return new Observable<ModelUpdate>((sub) => {
      let stop: (() => void) | undefined;
      let done = false;
      // Default KV watch = last value of every key, then live updates: the same contract as local.
      this.kv
        .watch()
        .then(async (iter) => {
          stop = () => iter.stop();
          if (done) return iter.stop();
          for await (const e of iter) {
            if (e.operation !== 'PUT') continue;
            try {
              sub.next({ patientId: e.key, ref: checkRef(JSON.parse(new TextDecoder().decode(e.value)), `registry entry ${e.key}`) });
            } catch (error) {
              // One bad entry must not stop hot-swaps for every other patient.
              this.logger.warn('model registry: ignoring malformed update', { key: e.key, error });
            }
          }
          if (!done) sub.complete();
        })
        .catch((cause: unknown) => sub.error(new StorageError(StorageErrorCode.REGISTRY_IO, 'model registry watch failed', { cause })));
      return () => {
        done = true;
        stop?.();
      };
    });
  }

  private async read(patientId: string): Promise<{ ref: ModelRef | undefined; revision: number } | undefined> {
    let e;
    try {
      e = await this.kv.get(patientId);
    } catch (cause) {
      throw new StorageError(StorageErrorCode.REGISTRY_IO, `cannot read model for ${patientId}`, { cause });
    }
    if (e === null) return undefined;
    // A deleted key still has a revision: the next registration must CAS against it.
    if (e.operation !== 'PUT') return { ref: undefined, revision: e.revision };
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(e.value));
    } catch (cause) {
      throw new StorageError(StorageErrorCode.REGISTRY_MALFORMED, `registry entry ${patientId} is not JSON`, { cause });
    }
    return { ref: checkRef(json, `registry entry ${patientId}`), revision: e.revision };
  }
}

function isWrongSequence(err: unknown): boolean {
  // kv.create surfaces the CAS failure wrapped with the API error as its cause.
  const c = (err as { cause?: unknown }).cause;
  return c instanceof JetStreamApiError && c.code === WRONG_LAST_SEQUENCE;
}
