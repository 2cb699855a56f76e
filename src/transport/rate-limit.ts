// Per-connection message-rate limit: a token bucket (rate r/s, burst b). Time comes from an injected
// clock so tests are exact. Messages over the limit are dropped; the connection hears RATE_LIMITED at
// most once per second (so the errors cannot become a flood themselves). Rejections also fill a
// penalty bucket that leaks at half the allowed rate: a sustained flood (about `closeAfterRejected`
// excess messages net of the leak, whatever the interleaving with allowed ones) closes the connection,
// while a device briefly bursting over the limit only loses the excess.

export type RateVerdict = 'ok' | 'limited' | 'limited-quiet' | 'close';

export interface TokenBucketOptions {
  /** Sustained messages per second. */
  readonly ratePerS: number;
  /** Messages allowed in a burst above the rate (bucket size). */
  readonly burst: number;
  /** Penalty (rejected messages, leaking at ratePerS / 2) at which the connection is closed. */
  readonly closeAfterRejected: number;
}

const ERROR_INTERVAL_MS = 1000;

export class TokenBucket {
  private tokens: number;
  private penalty = 0;
  private last: number;
  private lastError = -Infinity;

  constructor(
    private readonly opts: TokenBucketOptions,
    private readonly nowMs: () => number,
  ) {
    if (!(opts.ratePerS > 0) || !(opts.burst >= 1) || !(opts.closeAfterRejected >= 1)) {
      throw new RangeError(`invalid token bucket ${JSON.stringify(opts)}: rate > 0, burst ≥ 1, closeAfterRejected ≥ 1`);
    }
    this.tokens = opts.burst;
    this.last = nowMs();
  }

  /** Takes one token for a message: 'ok', or why not ('limited' = tell the client now). */
  take(): RateVerdict {
    const now = this.nowMs();
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.opts.burst, this.tokens + elapsed * this.opts.ratePerS);
    this.penalty = Math.max(0, this.penalty - (elapsed * this.opts.ratePerS) / 2);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'ok';
    }
    this.penalty += 1;
    if (this.penalty >= this.opts.closeAfterRejected) return 'close';
    if (now - this.lastError >= ERROR_INTERVAL_MS) {
      this.lastError = now;
      return 'limited';
    }
    return 'limited-quiet';
  }
}
