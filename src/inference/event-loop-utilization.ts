/**
 * The calling thread's event-loop utilisation, for the inline-dispatch decision (inference-service.ts):
 * in-process batches are allowed only while the loop is mostly idle, so a busy server hands every batch
 * to the workers. Sampled lazily: the value is that of the last completed window.
 */
import { performance } from 'node:perf_hooks';

/** Window over which event-loop utilisation is measured for the inline decision. */
export const UTILIZATION_WINDOW_MS = 250;

/** The main thread's event-loop utilisation (0..1) over the last completed window of `windowMs`. */
export function eventLoopUtilization(windowMs: number): () => number {
  let last = performance.eventLoopUtilization();
  let at = performance.now();
  let value = 0;
  return () => {
    const now = performance.now();
    if (now - at >= windowMs) {
      const cur = performance.eventLoopUtilization();
      value = performance.eventLoopUtilization(cur, last).utilization;
      last = cur;
      at = now;
    }
    return value;
  };
}
