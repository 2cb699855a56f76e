/**
 * When a batch is due. Rows from all sessions queue in a RequestQueue; a batch is ready when
 * `maxBatch` rows are queued, or `maxWaitMs` after the oldest queued row arrived (so a lone session
 * is answered within maxWaitMs and a busy server runs full batches). The owner pulls batches with
 * `take()` whenever it has an idle worker and `ready` is true; `onReady` fires when readiness may
 * have changed, so the owner never polls. Time comes only from the injected scheduler.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { RequestQueue, type Queued } from './request-queue.js';

export interface MicroBatcherOptions {
  /** Most rows per batch; a batch of this size is dispatched without waiting. */
  readonly maxBatch: number;
  /** Longest a row waits for company before a partial batch is due. */
  readonly maxWaitMs: number;
  /** Bounded queue: rows beyond this shed per RequestQueue's rule. Must be ≥ maxBatch. */
  readonly queueLimit: number;
  /** Rows older than this when taken are shed as stale. */
  readonly maxAgeMs: number;
}

export class MicroBatcher<T> {
  private readonly queue: RequestQueue<T>;
  private timer: Subscription | null = null;
  // Set when the oldest row's maxWaitMs has elapsed; cleared when a batch is taken.
  private due = false;

  constructor(
    readonly opts: MicroBatcherOptions,
    private readonly scheduler: SchedulerLike,
    private readonly onReady: () => void,
  ) {
    if (opts.queueLimit < opts.maxBatch) throw new RangeError(`queueLimit (${opts.queueLimit}) must be ≥ maxBatch (${opts.maxBatch})`);
    this.queue = new RequestQueue<T>(opts.queueLimit);
  }

  get depth(): number {
    return this.queue.depth;
  }

  get ready(): boolean {
    return this.queue.depth >= this.opts.maxBatch || (this.due && this.queue.depth > 0);
  }

  /** Queues a row; returns the row shed to make room, if any. */
  push(sessionId: string, item: T): Queued<T> | null {
    const shed = this.queue.push(sessionId, item, this.scheduler.now());
    if (this.queue.depth >= this.opts.maxBatch) this.onReady();
    else this.arm();
    return shed;
  }

  /** Takes the next batch (oldest first, up to maxBatch) and the stale rows skipped on the way. */
  take(): { batch: Queued<T>[]; stale: Queued<T>[] } {
    const now = this.scheduler.now();
    const out = this.queue.take(this.opts.maxBatch, now, this.opts.maxAgeMs);
    this.due = false;
    this.cancel();
    this.arm();
    return out;
  }

  /** Removes every queued row (shutdown) and stops the timer. */
  drain(): Queued<T>[] {
    this.cancel();
    this.due = false;
    return this.queue.drain();
  }

  private arm(): void {
    if (this.timer !== null || this.due) return;
    const oldest = this.queue.oldestAt;
    if (oldest === null) return;
    const delay = oldest + this.opts.maxWaitMs - this.scheduler.now();
    if (delay <= 0) {
      this.due = true;
      this.onReady();
      return;
    }
    this.timer = this.scheduler.schedule(() => {
      this.timer = null;
      this.due = true;
      this.onReady();
    }, delay);
  }

  private cancel(): void {
    this.timer?.unsubscribe();
    this.timer = null;
  }
}
