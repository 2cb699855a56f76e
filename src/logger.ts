import type { Writable } from 'node:stream';

/** Structured fields attached to a log line; values must be JSON-serialisable. */
export type LogFields = Readonly<Record<string, unknown>>;

/** The only logging surface library code may use: injected, never global. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LogLevel;

export interface JsonLoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  readonly level?: LogLevel;
  /** Static fields added to every line (e.g. `{ node: 'a' }`). */
  readonly base?: LogFields;
  /** Wall clock for the `time` field; injected so tests can pin it. */
  readonly now?: () => number;
}

/**
 * One JSON object per line on `out`. Errors in fields are flattened (name, message, code, cause)
 * because `JSON.stringify(new Error())` is `{}` and an empty error is the worst kind of log line.
 */
export function createJsonLogger(out: Writable, opts: JsonLoggerOptions = {}): Logger {
  const min = LogLevel[opts.level ?? 'info'];
  const now = opts.now ?? Date.now;
  const base = opts.base ?? {};
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LogLevel[level] < min) return;
    const line = { time: new Date(now()).toISOString(), level, msg, ...base, ...flatten(fields) };
    out.write(`${safeStringify(line)}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** For tests and for callers that do not care: drops everything. */
export const silentLogger: Logger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
});

function flatten(fields: LogFields | undefined): Record<string, unknown> {
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? describeError(v) : v;
  return out;
}

function describeError(err: Error, depth = 0): Record<string, unknown> {
  const d: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) d['code'] = code;
  if (err.cause instanceof Error && depth < 3) d['cause'] = describeError(err.cause, depth + 1);
  return d;
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  } catch {
    return JSON.stringify({ level: 'error', msg: 'unserialisable log line' });
  }
}
