// When a client is closed as broken (4002 INVALID_PAYLOAD), the policy stated in the README:
// - a text frame closes at once: protocol v1 is binary msgpack only, so a client sending text speaks
//   something else, and every later message would be refused too;
// - each message the codec rejects (not msgpack, unknown type, a field missing or out of range) gets
//   its coded error and the connection goes on, but more than `max` of them within a sliding window
//   of `windowMs` close it: a client that keeps sending them is broken, not unlucky.
// Frames that decode but fail the frame checks (NaN joints, seq or time order, absurd values) are not
// counted: they are well-formed messages with bad values, which a healthy device produces when ARKit
// loses the body for a moment; they are dropped with their code and the session goes on.

export interface InvalidMessageOptions {
  /** Invalid messages tolerated within the window; one more closes the connection. */
  readonly max: number;
  /** Sliding window length (ms). */
  readonly windowMs: number;
}

export class InvalidMessageWindow {
  /** Arrival times of the invalid messages still inside the window; never more than max + 1. */
  private readonly times: number[] = [];

  constructor(
    private readonly opts: InvalidMessageOptions,
    private readonly nowMs: () => number,
  ) {
    if (!(opts.max >= 1) || !(opts.windowMs > 0)) throw new RangeError(`invalid message window ${JSON.stringify(opts)}: max ≥ 1, windowMs > 0`);
  }

  /** Counts one invalid message; true when it is one too many for the window (close with 4002). */
  record(): boolean {
    const now = this.nowMs();
    while (this.times.length > 0 && now - (this.times[0] ?? now) >= this.opts.windowMs) this.times.shift();
    this.times.push(now);
    return this.times.length > this.opts.max;
  }
}
