/** A source that cannot be read: names the file and what is wrong with it. */
export class AdapterError extends Error {
  override readonly name = 'AdapterError';
  constructor(
    readonly code: AdapterErrorCode,
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

export const AdapterErrorCode = {
  NOT_FOUND: 'ADAPTER_NOT_FOUND',
  IS_DIRECTORY: 'ADAPTER_IS_DIRECTORY',
  EMPTY: 'ADAPTER_EMPTY',
  UNKNOWN_FORMAT: 'ADAPTER_UNKNOWN_FORMAT',
  TRUNCATED: 'ADAPTER_TRUNCATED',
  MALFORMED: 'ADAPTER_MALFORMED',
  MISSING_MARKER: 'ADAPTER_MISSING_MARKER',
  MISSING_PAIR: 'ADAPTER_MISSING_PAIR',
  IMPLAUSIBLE: 'ADAPTER_IMPLAUSIBLE',
} as const;
export type AdapterErrorCode = (typeof AdapterErrorCode)[keyof typeof AdapterErrorCode];
