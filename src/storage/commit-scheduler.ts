// One group commit for every recording log of a process per interval (FSYNC=batch): a single timer,
// and on each tick every log with unsynced appends writes and fdatasyncs at once. Per-log timers
// (one per session, each firing on its own phase) meant a timer callback and a separate journal
// commit per session per interval; on one tick the syncs of all sessions run together on libuv's
// pool and the file system can fold them into fewer journal commits. Each log still resolves its
// appends — and so the server still acks — only after its own fdatasync returned.

/** A log the scheduler can commit (RecordingLog). */
export interface Committable {
  /** Writes and syncs what is queued; never rejects (failures reject the log's own appends). */
  commit(): Promise<void>;
}

export interface CommitSchedulerStats {
  /** Ticks that committed at least one log. */
  readonly ticks: number;
  /** Log commits started by ticks (≥ ticks; the ratio is the sessions sharing a tick). */
  readonly commits: number;
}

export class CommitScheduler {
  private readonly dirty = new Set<Committable>();
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private commits = 0;

  constructor(readonly intervalMs: number) {
    if (!(intervalMs > 0)) throw new RangeError('commit interval must be > 0 ms');
  }

  /** Commits `log` on the next tick (starting the interval if none is running). */
  add(log: Committable): void {
    this.dirty.add(log);
    this.timer ??= setTimeout(() => this.tick(), this.intervalMs);
  }

  /** Forgets `log` (it flushes itself: finalize/close). */
  remove(log: Committable): void {
    this.dirty.delete(log);
    if (this.dirty.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  get stats(): CommitSchedulerStats {
    return { ticks: this.ticks, commits: this.commits };
  }

  private tick(): void {
    this.timer = undefined;
    if (this.dirty.size === 0) return;
    const logs = [...this.dirty];
    this.dirty.clear();
    this.ticks += 1;
    this.commits += logs.length;
    // A log whose previous commit is still running re-adds itself when that one ends (RecordingLog.flush).
    for (const log of logs) void log.commit();
  }
}
