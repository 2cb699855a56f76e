// Key configuration for JWT: parsed once at start (PEM parsing per request would be slow).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { AuthError, AuthErrorCode } from '../errors.js';

export type JwtAlg = 'HS256' | 'RS256' | 'ES256';

/** Minimum HS256 secret length in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32;

/** How tokens are signed and verified. The header `alg` must equal `alg` exactly (no alg confusion). */
export type KeyConfig =
  { readonly alg: 'HS256'; readonly secret: Uint8Array } | { readonly alg: 'RS256' | 'ES256'; readonly publicKey: KeyObject; readonly privateKey?: KeyObject };

/** HS256 with a shared secret (string as UTF-8, or raw bytes) of at least 32 bytes. */
export function hmacKeyConfig(secret: string | Uint8Array): KeyConfig {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : new Uint8Array(secret);
  if (bytes.byteLength < MIN_SECRET_BYTES) {
    throw new AuthError(AuthErrorCode.INVALID_KEY, `HS256 secret is ${bytes.byteLength} bytes, needs at least ${MIN_SECRET_BYTES}`);
  }
  return { alg: 'HS256', secret: bytes };
}

/**
 * RS256 (RSA key) or ES256 (EC P-256 key), chosen from the public key's type. The private key is only
 * needed to mint tokens (tests, dev tools); a server that only verifies passes the public key alone.
 */
export function publicKeyConfig(publicKeyPem: string | KeyObject, privateKeyPem?: string | KeyObject): KeyConfig {
  let publicKey: KeyObject;
  let privateKey: KeyObject | undefined;
  try {
    publicKey = typeof publicKeyPem === 'string' ? createPublicKey(publicKeyPem) : publicKeyPem;
    if (privateKeyPem !== undefined) privateKey = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  } catch (cause) {
    throw new AuthError(AuthErrorCode.INVALID_KEY, `cannot read key PEM: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (publicKey.type !== 'public') throw new AuthError(AuthErrorCode.INVALID_KEY, `expected a public key, got a ${publicKey.type} key`);
  const alg = algFor(publicKey);
  if (privateKey !== undefined && (privateKey.type !== 'private' || algFor(privateKey) !== alg)) {
    throw new AuthError(AuthErrorCode.INVALID_KEY, `private key does not match the ${alg} public key`);
  }
  return privateKey === undefined ? { alg, publicKey } : { alg, publicKey, privateKey };
}

function algFor(key: KeyObject): 'RS256' | 'ES256' {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new AuthError(AuthErrorCode.INVALID_KEY, `RSA key is ${bits} bits, needs at least 2048`);
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new AuthError(
    AuthErrorCode.INVALID_KEY,
    `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}: use RSA (RS256) or EC P-256 (ES256)`,
  );
}
