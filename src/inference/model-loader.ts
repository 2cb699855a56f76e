/**
 * Loading patient models into the ModelCache: deduplicated "load the current one" (ensure), explicit
 * swaps, background loads for patients seen without a model, and a retry pause after a failure so a
 * broken registry entry is not hammered at frame rate. Loads may finish out of order; only the most
 * recently *requested* load of a patient is staged, so a slow "current model" lookup that started before
 * a swap can never overwrite the swapped-in model.
 */
import type { SchedulerLike } from 'rxjs';
import { InferenceError, InferenceErrorCode } from './errors.js';
import type { ModelCache, PatientModel } from './model-cache.js';

export type LoadModel = (patientId: string, ref: string | undefined) => Promise<PatientModel>;

/** Failure records kept (each only matters for retryMs); the oldest go first. */
const MAX_FAILURE_RECORDS = 10_000;

export class ModelLoader {
  private readonly loading = new Map<string, Promise<string>>();
  private readonly failedAt = new Map<string, number>();
  // Per patient, the number of the latest requested load; entries live only while a load is pending.
  private readonly latest = new Map<string, number>();
  private nextTicket = 0;
  loads = 0;
  failures = 0;
  swaps = 0;

  constructor(
    private readonly cache: ModelCache,
    private readonly loadModel: LoadModel,
    private readonly scheduler: SchedulerLike,
    private readonly retryMs: number,
    /** Called after a model is staged (the owner may want to dispatch). */
    private readonly onStaged: () => void,
  ) {}

  /** The patient's model ref once held or staged; loads "the current one" if neither (deduplicated). */
  ensure(patientId: string): Promise<string> {
    const known = this.cache.stagedRef(patientId) ?? this.cache.peek(patientId)?.ref;
    if (known !== undefined) return Promise.resolve(known);
    let p = this.loading.get(patientId);
    if (!p) {
      p = this.load(patientId, undefined).finally(() => this.loading.delete(patientId));
      this.loading.set(patientId, p);
    }
    return p;
  }

  /** Loads `ref` and stages it for the next batch boundary. */
  async swap(patientId: string, ref: string): Promise<void> {
    await this.load(patientId, ref);
    this.swaps++;
  }

  /**
   * A row arrived for a patient: if nothing is held, staged or loading, start loading in the background
   * (unless the last attempt failed less than retryMs ago). The failure is reported to `onError`.
   */
  touch(patientId: string, onError: (err: unknown) => void): void {
    if (this.cache.has(patientId) || this.cache.isStaged(patientId) || this.loading.has(patientId)) return;
    const failed = this.failedAt.get(patientId);
    if (failed !== undefined && this.scheduler.now() - failed < this.retryMs) return;
    this.ensure(patientId).catch(onError);
  }

  private load(patientId: string, ref: string | undefined): Promise<string> {
    this.loads++;
    const ticket = ++this.nextTicket;
    this.latest.set(patientId, ticket);
    const current = (): boolean => this.latest.get(patientId) === ticket;
    return this.loadModel(patientId, ref).then(
      (m) => {
        if (current()) {
          this.latest.delete(patientId);
          this.failedAt.delete(patientId);
          this.cache.stage(patientId, m);
          this.onStaged();
        }
        return m.ref;
      },
      (err: unknown) => {
        this.failures++;
        if (current()) {
          this.latest.delete(patientId);
          this.failedAt.delete(patientId);
          this.failedAt.set(patientId, this.scheduler.now());
          if (this.failedAt.size > MAX_FAILURE_RECORDS) {
            const oldest = this.failedAt.keys().next();
            if (!oldest.done) this.failedAt.delete(oldest.value);
          }
        }
        throw new InferenceError(InferenceErrorCode.MODEL_LOAD_FAILED, `model for patient ${patientId}${ref ? ` (${ref})` : ''} failed to load`, {
          cause: err,
        });
      },
    );
  }
}
