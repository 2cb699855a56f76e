// Reconnect delays: exponential with full jitter (AWS "Exponential Backoff and Jitter"), capped, so a
// server restart is not met by every iPad reconnecting in the same millisecond.

export interface BackoffOptions {
  /** First delay before jitter, ms (default 250). */
  readonly initialMs?: number;
  /** Cap of the delay, ms (default 5000). */
  readonly maxMs?: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
  /** Attempts after a lost connection before giving up (default 20; about a minute with the defaults). */
  readonly maxAttempts?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 250, maxMs: 5000, factor: 2, maxAttempts: 20 };

/** Delay before reconnect attempt `attempt` (0-based): uniform in [ceiling/2, ceiling]. */
export function backoffDelay(attempt: number, opts: Required<BackoffOptions>, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * opts.factor ** attempt);
  // Half-jitter keeps a floor, so a tight loop of failures still waits.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
