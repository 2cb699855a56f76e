/**
 * Which patient models the service holds, and when a new one takes effect.
 *
 * An LRU of `capacity` patient models (adapters are small; the base weights live once per worker).
 * New or swapped models are *staged* and installed only by `applyStaged()`, which the service calls
 * when it forms a batch — so a batch already in flight keeps the weights it was dispatched with, and
 * a model never changes mid-batch. Every installed model gets a fresh `version`, so workers can tell
 * whether the copy they hold is current. Eviction is by least recent use in a batch; with more live
 * patients than `capacity`, the evicted patients are served by the base model until reloaded.
 */
import type { AdapterWeights } from './engine.js';

/** A loaded patient model: where it came from and its adapter (null = the shared base model as is). */
export interface PatientModel {
  /** Registry reference, reported back with every result (e.g. "patient-17@3" or "pretrained"). */
  readonly ref: string;
  readonly adapter: AdapterWeights | null;
}

export interface ResidentModel extends PatientModel {
  readonly patientId: string;
  readonly version: number;
}

export class ModelCache {
  // Map order = recency: re-inserted on use, the first key is the least recently used.
  private readonly resident = new Map<string, ResidentModel>();
  private readonly staged = new Map<string, PatientModel>();
  private nextVersion = 1;
  private evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`model cache capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.resident.size;
  }

  get evicted(): number {
    return this.evictions;
  }

  /** The resident model of a patient, marking it recently used. */
  use(patientId: string): ResidentModel | undefined {
    const m = this.resident.get(patientId);
    if (m) {
      this.resident.delete(patientId);
      this.resident.set(patientId, m);
    }
    return m;
  }

  /** Resident without touching recency. */
  peek(patientId: string): ResidentModel | undefined {
    return this.resident.get(patientId);
  }

  isStaged(patientId: string): boolean {
    return this.staged.has(patientId);
  }

  /** Ref of the model staged for the patient, if any. */
  stagedRef(patientId: string): string | undefined {
    return this.staged.get(patientId)?.ref;
  }

  /** Queues a model to take effect at the next batch boundary (a later stage for the patient wins). */
  stage(patientId: string, model: PatientModel): void {
    this.staged.delete(patientId);
    this.staged.set(patientId, model);
  }

  /** Installs staged models (batch boundary). Returns the patients evicted to stay within capacity. */
  applyStaged(): string[] {
    if (this.staged.size === 0) return [];
    for (const [patientId, m] of this.staged) {
      this.resident.delete(patientId);
      this.resident.set(patientId, { patientId, ref: m.ref, adapter: m.adapter, version: this.nextVersion++ });
    }
    this.staged.clear();
    const evicted: string[] = [];
    for (const patientId of this.resident.keys()) {
      if (this.resident.size - evicted.length <= this.capacity) break;
      evicted.push(patientId);
    }
    for (const p of evicted) this.resident.delete(p);
    this.evictions += evicted.length;
    return evicted;
  }

  has(patientId: string): boolean {
    return this.resident.has(patientId);
  }
}
