// Frames sent but not yet acknowledged (ack = persisted by the server), kept to resend after a
// reconnect. Bounded: when full, NEW frames are refused (ClientError BUFFER_FULL) and old ones kept,
// because the recording must stay gap-free up to what was acked; the app decides whether to drop the
// new frame or pause capture. Acks are cumulative, so release is "everything up to seq".
import { ClientError, ClientErrorCode } from './errors.js';

/** Default capacity: 1024 frames ≈ 17 s at 60 Hz, ≈ 1.2 MB of encoded ARKit frames. */
export const DEFAULT_MAX_UNACKED = 1024;

export class UnackedBuffer {
  private readonly seqs: number[] = [];
  private readonly bytes: Uint8Array[] = [];
  private head = 0;

  constructor(readonly capacity: number = DEFAULT_MAX_UNACKED) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`unacked buffer capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.seqs.length - this.head;
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** Keeps an encoded frame until it is acked; throws BUFFER_FULL when at capacity. */
  push(seq: number, encoded: Uint8Array): void {
    if (this.full) {
      throw new ClientError(ClientErrorCode.BUFFER_FULL, `frame ${seq} refused: ${this.size} frames await their ack (capacity ${this.capacity})`);
    }
    this.seqs.push(seq);
    this.bytes.push(encoded);
  }

  /** Drops every frame with seq ≤ `seq`; returns how many were released. */
  release(seq: number): number {
    const before = this.head;
    while (this.head < this.seqs.length && (this.seqs[this.head] ?? Infinity) <= seq) this.head++;
    const released = this.head - before;
    // Compact occasionally so the arrays don't grow with the session (amortised O(1)).
    if (this.head > 256 && this.head * 2 > this.seqs.length) {
      this.seqs.splice(0, this.head);
      this.bytes.splice(0, this.head);
      this.head = 0;
    }
    return released;
  }

  /** Encoded frames with seq ≥ `fromSeq`, oldest first (what to resend after a resume). */
  *from(fromSeq: number): Generator<{ seq: number; bytes: Uint8Array }> {
    for (let i = this.head; i < this.seqs.length; i++) {
      const seq = this.seqs[i] ?? -1;
      const bytes = this.bytes[i];
      if (seq >= fromSeq && bytes) yield { seq, bytes };
    }
  }
}
