// Named errors shared across src/ (nats.js style): a `name`, a `code` to classify by, structured
// fields, and `{ cause }`. Callers classify with `instanceof` and `code`, never by message text.
// ProtocolError lives in src/protocol (clients import it); AdapterError in streams/errors.ts.

/** Codes of {@link ConfigError}: what kind of configuration problem stopped the start. */
export const ConfigErrorCode = {
  /** A flag the server does not know (a typo, usually). */
  UNKNOWN_FLAG: 'CONFIG_UNKNOWN_FLAG',
  /** A flag given without its value, or a stray positional argument. */
  BAD_ARGUMENT: 'CONFIG_BAD_ARGUMENT',
  /** A value that does not parse or is out of range. */
  INVALID_VALUE: 'CONFIG_INVALID_VALUE',
  /** Two settings that each parse but cannot both hold. */
  CONTRADICTION: 'CONFIG_CONTRADICTION',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** The configuration cannot be used; `setting` names the env variable or flag at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly code: ConfigErrorCode,
    /** Env variable or flag the message is about (e.g. `PORT`, `--port`). */
    readonly setting: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Codes of {@link AuthError} (key handling and minting; token checks return results instead). */
export const AuthErrorCode = {
  /** A PEM or secret that cannot be used for the requested algorithm. */
  INVALID_KEY: 'AUTH_INVALID_KEY',
  /** Minting needs a private key (RS256/ES256) or secret that the key config does not hold. */
  NO_SIGNING_KEY: 'AUTH_NO_SIGNING_KEY',
  /** Claims given to mintToken that a verifier would reject (e.g. a device without a patient). */
  INVALID_CLAIMS: 'AUTH_INVALID_CLAIMS',
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** A key or token problem raised by src/auth for callers that cannot continue. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Codes of {@link JobError}: how a background job failed, which decides ack/nak/term. */
export const JobErrorCode = {
  /** The job payload does not parse: retrying cannot help (term). */
  INVALID_PAYLOAD: 'JOB_INVALID_PAYLOAD',
  /** An input artifact (recording, model) is missing: retrying cannot help (term). */
  INPUT_MISSING: 'JOB_INPUT_MISSING',
  /** Storage or bus trouble: worth a retry later (nak with delay). */
  TRANSIENT: 'JOB_TRANSIENT',
  /** The job ran past its deadline (nak). */
  TIMEOUT: 'JOB_TIMEOUT',
  /** The job ran but its result is rejected (e.g. a model that fails evaluation): term, with the reason. */
  REJECTED: 'JOB_REJECTED',
} as const;
export type JobErrorCode = (typeof JobErrorCode)[keyof typeof JobErrorCode];

/** A background job failed; `jobId` and `kind` identify it, `retryable` tells the worker nak vs term. */
export class JobError extends Error {
  override readonly name = 'JobError';
  constructor(
    readonly code: JobErrorCode,
    readonly jobId: string,
    /** Job kind, e.g. `retrain`, `taskpack`. */
    readonly kind: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${kind} job ${jobId}: ${message}`, options);
  }

  /** Whether a redelivery could succeed (transient trouble), as opposed to a permanent failure. */
  get retryable(): boolean {
    return this.code === JobErrorCode.TRANSIENT || this.code === JobErrorCode.TIMEOUT;
  }
}
