/**
 * The bounded queue of rows waiting for a batch, with the load-shedding rule built in.
 *
 * Shedding rule (live feedback prefers fresh frames, and no session may starve the others):
 *  - queue full (`limit` rows) and a new row arrives → drop the OLDEST queued row of the session with
 *    the MOST queued rows (ties: the session whose oldest row is oldest), then enqueue the new row.
 *    A session that floods the queue loses its own stale frames first; a quiet session is untouched.
 *  - rows older than `maxAgeMs` when a batch is taken are dropped as stale: their answer would arrive
 *    too late to be useful as live feedback.
 * Every dropped row is returned to the caller, who resolves it `{shed: true, reason}`.
 *
 * Rows sit in one FIFO (a doubly-linked list, O(1) removal anywhere) and in per-session FIFOs.
 */

export interface Queued<T> {
  readonly sessionId: string;
  /** Enqueue time (scheduler clock, ms). */
  readonly at: number;
  readonly item: T;
}

interface Node<T> extends Queued<T> {
  prev: Node<T> | null;
  next: Node<T> | null;
}

/**
 * The session to shed from: most queued rows; ties broken by the oldest head. Pure; `bySession` maps
 * each session to its queued rows, oldest first. A plain loop: it runs once per shed row, which under
 * overload is thousands of times a second over every live session.
 */
export function pickShedVictim(bySession: ReadonlyMap<string, readonly { readonly at: number }[]>): string | null {
  let best: string | null = null;
  let bestDepth = 0;
  let bestAt = Infinity;
  for (const [sessionId, rows] of bySession) {
    const depth = rows.length;
    if (depth === 0) continue;
    const at = rows[0]?.at ?? Infinity;
    if (depth > bestDepth || (depth === bestDepth && at < bestAt)) {
      best = sessionId;
      bestDepth = depth;
      bestAt = at;
    }
  }
  return best;
}

export class RequestQueue<T> {
  private head: Node<T> | null = null;
  private tail: Node<T> | null = null;
  private size = 0;
  // Per-session FIFO of nodes; arrays stay short (a session queues at most a few batches' worth).
  private readonly bySession = new Map<string, Node<T>[]>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`queue limit must be a positive integer, got ${limit}`);
  }

  get depth(): number {
    return this.size;
  }

  /** Enqueue time of the oldest row, or null when empty. */
  get oldestAt(): number | null {
    return this.head?.at ?? null;
  }

  /** Queued rows of one session. */
  depthOf(sessionId: string): number {
    return this.bySession.get(sessionId)?.length ?? 0;
  }

  /** Adds a row; when full, first removes and returns the victim chosen by the shedding rule. */
  push(sessionId: string, item: T, at: number): Queued<T> | null {
    let shed: Queued<T> | null = null;
    if (this.size >= this.limit) {
      const victim = pickShedVictim(this.bySession);
      const node = victim === null ? null : (this.bySession.get(victim)?.[0] ?? null);
      if (node) {
        this.remove(node);
        shed = node;
      }
    }
    const node: Node<T> = { sessionId, at, item, prev: this.tail, next: null };
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
    const list = this.bySession.get(sessionId);
    if (list) list.push(node);
    else this.bySession.set(sessionId, [node]);
    return shed;
  }

  /**
   * Takes up to `max` rows, oldest first. Rows enqueued before `now - maxAgeMs` are removed too and
   * returned as `stale` (they do not count towards `max`).
   */
  take(max: number, now: number, maxAgeMs: number): { batch: Queued<T>[]; stale: Queued<T>[] } {
    const batch: Queued<T>[] = [];
    const stale: Queued<T>[] = [];
    while (this.head && batch.length < max) {
      const node = this.head;
      this.remove(node);
      if (now - node.at > maxAgeMs) stale.push(node);
      else batch.push(node);
    }
    return { batch, stale };
  }

  /** Removes everything (shutdown); returns the rows in FIFO order. */
  drain(): Queued<T>[] {
    const out: Queued<T>[] = [];
    while (this.head) {
      const node = this.head;
      this.remove(node);
      out.push(node);
    }
    return out;
  }

  private remove(node: Node<T>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
    this.size--;
    const list = this.bySession.get(node.sessionId);
    if (list) {
      // FIFO removal is at index 0; the rarer removals elsewhere are a short scan.
      const i = list[0] === node ? 0 : list.indexOf(node);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.bySession.delete(node.sessionId);
    }
  }
}
