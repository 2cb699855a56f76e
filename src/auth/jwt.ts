// JWT (JWS compact) with node:crypto only. Verification order: shape → header alg (exactly the
// configured one; `none` and alg confusion rejected before any crypto) → signature (constant-time
// for HMAC) → claims → time. Claims of a token whose signature fails are never looked at.
import { createHmac, sign, timingSafeEqual, verify } from 'node:crypto';
import { AuthError, AuthErrorCode } from '../errors.js';
import { Claims, type Role } from './claims.js';
import type { KeyConfig } from './keys.js';

/** Tolerated clock difference between the token issuer and this server, in seconds. */
export const DEFAULT_CLOCK_SKEW_S = 30;
/** Longer tokens are rejected unread (headers are bounded anyway; this bounds the work). */
export const MAX_TOKEN_LENGTH = 8192;

export type VerifyFailureCode = 'MISSING' | 'MALFORMED' | 'BAD_SIGNATURE' | 'EXPIRED' | 'WRONG_ALG' | 'INVALID_CLAIMS';
export type VerifyResult = { readonly ok: true; readonly claims: Claims } | { readonly ok: false; readonly code: VerifyFailureCode; readonly message: string };

export interface VerifyOptions {
  /** Clock skew allowance in seconds (default DEFAULT_CLOCK_SKEW_S). */
  readonly clockSkewS?: number;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const fail = (code: VerifyFailureCode, message: string): VerifyResult => ({ ok: false, code, message });

function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

function parseJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function signatureValid(key: KeyConfig, data: Buffer, sig: Buffer): boolean {
  try {
    if (key.alg === 'HS256') {
      const expected = createHmac('sha256', key.secret).update(data).digest();
      return sig.length === expected.length && timingSafeEqual(sig, expected);
    }
    if (key.alg === 'ES256') {
      return sig.length === 64 && verify('sha256', data, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
    }
    return verify('sha256', data, key.publicKey, sig);
  } catch {
    return false;
  }
}

/** Verifies a token at time `nowMs` (epoch milliseconds). Never throws. */
export function verifyToken(token: string | undefined, key: KeyConfig, nowMs: number, opts: VerifyOptions = {}): VerifyResult {
  if (token === undefined || token === '') return fail('MISSING', 'no token');
  if (token.length > MAX_TOKEN_LENGTH) return fail('MALFORMED', `token is ${token.length} characters (limit ${MAX_TOKEN_LENGTH})`);
  const parts = token.split('.');
  const [h, p, s] = parts;
  if (parts.length !== 3 || h === undefined || p === undefined || s === undefined || ![h, p, s].every((x) => SEGMENT.test(x))) {
    return fail('MALFORMED', 'token is not three base64url segments (header.payload.signature)');
  }
  const header = parseJson(h);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('MALFORMED', 'token header is not a JSON object');
  const { alg, crit } = header as { alg?: unknown; crit?: unknown };
  if (typeof alg !== 'string') return fail('MALFORMED', 'token header has no alg');
  if (alg !== key.alg) return fail('WRONG_ALG', `token alg ${JSON.stringify(alg.slice(0, 16))} is not accepted (server expects ${key.alg})`);
  // RFC 7515 §4.1.11: a `crit` extension we do not understand makes the token invalid.
  if (crit !== undefined) return fail('MALFORMED', 'token header has unsupported crit extensions');
  if (!signatureValid(key, Buffer.from(`${h}.${p}`, 'ascii'), Buffer.from(s, 'base64url'))) {
    return fail('BAD_SIGNATURE', 'token signature does not verify');
  }
  const payload = parseJson(p);
  const parsed = Claims.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('INVALID_CLAIMS', `token claim ${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const claims = parsed.data;
  const now = nowMs / 1000;
  const skew = opts.clockSkewS ?? DEFAULT_CLOCK_SKEW_S;
  if (now > claims.exp + skew) return fail('EXPIRED', `token expired at ${new Date(claims.exp * 1000).toISOString()}`);
  if (claims.iat > now + skew) return fail('INVALID_CLAIMS', `token issued in the future (${new Date(claims.iat * 1000).toISOString()})`);
  if (claims.nbf !== undefined && claims.nbf > now + skew) {
    return fail('INVALID_CLAIMS', `token not valid before ${new Date(claims.nbf * 1000).toISOString()}`);
  }
  return { ok: true, claims };
}

export interface MintRequest {
  readonly clinic: string;
  readonly role: Role;
  /** Required for `device`. */
  readonly patient?: string;
  readonly sub?: string;
  /** Lifetime in seconds (positive). */
  readonly ttlSeconds: number;
}

/** Signs a token (dev tokens at start, tests, admin tools). Throws AuthError on bad claims or no signing key. */
export function mintToken(req: MintRequest, key: KeyConfig, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  if (!Number.isInteger(req.ttlSeconds) || req.ttlSeconds <= 0) {
    throw new AuthError(AuthErrorCode.INVALID_CLAIMS, `ttlSeconds must be a positive integer, got ${req.ttlSeconds}`);
  }
  const payload: Record<string, unknown> = { clinic: req.clinic, role: req.role, iat, exp: iat + req.ttlSeconds };
  if (req.patient !== undefined) payload['patient'] = req.patient;
  if (req.sub !== undefined) payload['sub'] = req.sub;
  const checked = Claims.safeParse(payload);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new AuthError(AuthErrorCode.INVALID_CLAIMS, `cannot mint: ${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, {
      cause: checked.error,
    });
  }
  const data = `${b64url(JSON.stringify({ alg: key.alg, typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  let sig: Buffer;
  if (key.alg === 'HS256') {
    sig = createHmac('sha256', key.secret).update(data).digest();
  } else {
    if (key.privateKey === undefined) throw new AuthError(AuthErrorCode.NO_SIGNING_KEY, `minting ${key.alg} tokens needs the private key`);
    sig =
      key.alg === 'ES256'
        ? sign('sha256', Buffer.from(data), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(data), key.privateKey);
  }
  return `${data}.${b64url(sig)}`;
}
