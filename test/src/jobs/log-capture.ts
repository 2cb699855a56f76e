// A Logger that keeps its lines and lets a test wait for one (no sleeps).
import type { LogFields, Logger } from '../../../src/logger.js';
import { deferred, within } from './deferred.js';

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: LogFields;
}

export function captureLogger(): Logger & { readonly lines: LogLine[]; waitFor(match: (l: LogLine) => boolean, ms: number, what: string): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const add =
    (level: string) =>
    (msg: string, fields: LogFields = {}): void => {
      const l = { level, msg, fields };
      lines.push(l);
      for (const w of waiters) {
        if (!w.match(l)) continue;
        waiters.delete(w);
        w.resolve(l);
      }
    };
  return {
    lines,
    debug: add('debug'),
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    waitFor(match, ms, what) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      const d = deferred<LogLine>();
      const w = { match, resolve: d.resolve };
      waiters.add(w);
      return within(d.promise, ms, what).finally(() => waiters.delete(w));
    },
  };
}
