// Wire-visible codes. `as const` objects (not enums) so they are plain values in any JS client.
// Every code has a one-line description; README tables are rendered from these lists and a test
// fails when README.md and the code drift.

/** `error.code` values: a bad message gets an `error` reply and the session goes on. */
export const ErrorCode = {
  NOT_MSGPACK: 'NOT_MSGPACK',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  UNSUPPORTED_PROTOCOL: 'UNSUPPORTED_PROTOCOL',
  HELLO_REQUIRED: 'HELLO_REQUIRED',
  ALREADY_STARTED: 'ALREADY_STARTED',
  SESSION_ENDED: 'SESSION_ENDED',
  JOINT_COUNT: 'JOINT_COUNT',
  NON_FINITE: 'NON_FINITE',
  ABSURD_VALUE: 'ABSURD_VALUE',
  DUPLICATE_SEQ: 'DUPLICATE_SEQ',
  SEQ_NOT_MONOTONIC: 'SEQ_NOT_MONOTONIC',
  TIME_NOT_MONOTONIC: 'TIME_NOT_MONOTONIC',
  RATE_LIMITED: 'RATE_LIMITED',
  SHED: 'SHED',
  FORBIDDEN: 'FORBIDDEN',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  RESUME_FAILED: 'RESUME_FAILED',
  SUBSCRIPTION_LIMIT: 'SUBSCRIPTION_LIMIT',
  MODEL_UNAVAILABLE: 'MODEL_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One line per error code: what happened and what the sender should do. */
export const ERROR_CODE_DESCRIPTIONS: Readonly<Record<ErrorCode, string>> = {
  NOT_MSGPACK: 'The WebSocket message is not one complete MessagePack value (binary frames only).',
  MESSAGE_TOO_LARGE: 'The message is larger than the configured maximum payload.',
  UNKNOWN_TYPE: 'The `type` field is missing or names no message of this endpoint.',
  INVALID_MESSAGE: 'A field is missing or has the wrong type or range; the message names the field path.',
  UNSUPPORTED_PROTOCOL: '`hello.protocol` is not a version this server speaks (v1 only).',
  HELLO_REQUIRED: 'A message other than `hello` arrived before `hello` on /v1/ingest.',
  ALREADY_STARTED: 'A second `hello` arrived on a connection whose session has started.',
  SESSION_ENDED: 'A message arrived after `end`; it is ignored.',
  JOINT_COUNT: 'A float32 array has the wrong length (joints 91×3, jointTransforms 91×16, anchor 16, tracked 91).',
  NON_FINITE: 'A number in the frame (time, anchor, a joint coordinate) is NaN or infinite; the frame is dropped.',
  ABSURD_VALUE: 'A value is finite but physically impossible (joint too far from the body origin, anchor not rigid); frame dropped.',
  DUPLICATE_SEQ: 'The frame repeats the `seq` of the last accepted frame; it is dropped.',
  SEQ_NOT_MONOTONIC: 'The frame `seq` is lower than the last accepted one; it is dropped.',
  TIME_NOT_MONOTONIC: 'The frame time `t` does not increase over the last accepted frame; it is dropped.',
  RATE_LIMITED: 'The connection sends more messages per second than allowed; excess messages are dropped.',
  SHED: 'The server is overloaded: the frame is stored but gets no prediction (`feedback.shed` is true).',
  FORBIDDEN: 'The token does not allow this (another clinic, another patient, or the wrong role).',
  SESSION_NOT_FOUND: 'No session with that id exists (or it is not visible to this token).',
  RESUME_FAILED: '`hello.resume` names a session that cannot be resumed (unknown, ended or past the resume window).',
  SUBSCRIPTION_LIMIT: 'The live connection holds the maximum number of subscriptions.',
  MODEL_UNAVAILABLE: 'No world model could be loaded for this session; frames are stored without predictions.',
  INTERNAL: 'An unexpected server error while handling this message; the session goes on.',
};

/** WebSocket close codes; all in 4000–4999 except NORMAL. A close ends the connection. */
export const CloseCode = {
  NORMAL: 1000,
  SHUTDOWN: 4000,
  UNAUTHORIZED: 4001,
  INVALID_PAYLOAD: 4002,
  SLOW_CONSUMER: 4003,
  UNSUPPORTED_PROTOCOL: 4004,
  RATE_LIMIT: 4005,
  RESUME_FAILED: 4006,
  HELLO_TIMEOUT: 4007,
  IDLE_TIMEOUT: 4008,
  MESSAGE_TOO_LARGE: 4009,
  SESSION_TAKEN_OVER: 4010,
  TOKEN_EXPIRED: 4011,
  INTERNAL_ERROR: 4012,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
export type CloseCodeName = keyof typeof CloseCode;

/** One line per close code: why the server closed and whether the client should reconnect. */
export const CLOSE_CODE_DESCRIPTIONS: Readonly<Record<CloseCodeName, string>> = {
  NORMAL: 'Normal close after `end`/`ended` or a client-requested close.',
  SHUTDOWN: 'The server is shutting down; reconnect (to any node) and resume with `hello.resume`.',
  UNAUTHORIZED: 'The token was missing or invalid; do not retry with the same token.',
  INVALID_PAYLOAD: 'A text frame, or more than MAX_INVALID_MSGS invalid messages within INVALID_MSGS_WINDOW_S; the client is broken, do not retry blindly.',
  SLOW_CONSUMER: 'The client did not read fast enough and the send buffer hit its limit; reconnect.',
  UNSUPPORTED_PROTOCOL: 'The `hello.protocol` version is not supported; upgrade the app.',
  RATE_LIMIT: 'The connection kept exceeding the message rate after `RATE_LIMITED` errors.',
  RESUME_FAILED: 'The session cannot be resumed; start a new session with a fresh `hello`.',
  HELLO_TIMEOUT: 'No `hello` arrived in time after the connection opened.',
  IDLE_TIMEOUT: 'Nothing was received for too long; reconnect and resume.',
  MESSAGE_TOO_LARGE: 'A message exceeded the maximum payload length.',
  SESSION_TAKEN_OVER: 'Another connection resumed this session; this one is obsolete.',
  TOKEN_EXPIRED: 'The token expired during a long connection; reconnect with a fresh token.',
  INTERNAL_ERROR: 'An unexpected server error; reconnect and resume.',
};

/** Every wire error code, in table order. */
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);
/** Every close code with its name, in table order. */
export const CLOSE_CODES: readonly { readonly name: CloseCodeName; readonly code: CloseCode }[] = (Object.keys(CloseCode) as CloseCodeName[]).map((name) => ({
  name,
  code: CloseCode[name],
}));

/** Markdown table of `error.code` values for README.md (the README must contain it verbatim). */
export function renderErrorCodeTable(): string {
  const rows = ERROR_CODES.map((code) => `| \`${code}\` | ${ERROR_CODE_DESCRIPTIONS[code]} |`);
  return ['| error code | meaning |', '| --- | --- |', ...rows].join('\n');
}

/** Markdown table of WebSocket close codes for README.md (the README must contain it verbatim). */
export function renderCloseCodeTable(): string {
  const rows = CLOSE_CODES.map(({ name, code }) => `| ${code} | \`${name}\` | ${CLOSE_CODE_DESCRIPTIONS[name]} |`);
  return ['| close code | name | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
