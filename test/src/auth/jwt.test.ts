import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../src/errors.js';
import { DEFAULT_CLOCK_SKEW_S, hmacKeyConfig, mintToken, publicKeyConfig, verifyToken, type KeyConfig } from '../../../src/auth/index.js';

const NOW = Date.UTC(2026, 10, 24, 1, 0, 0);
const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const hs = hmacKeyConfig(SECRET);
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const therapist = { clinic: 'north', role: 'therapist', ttlSeconds: 3600 } as const;

function forge(header: object, payload: object, secret: string | undefined): string {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${secret === undefined ? '' : createHmac('sha256', secret).update(data).digest('base64url')}`;
}
const claims = { clinic: 'north', role: 'therapist', iat: NOW / 1000, exp: NOW / 1000 + 60 };

describe('HS256', () => {
  it('a minted token verifies and yields its claims', () => {
    const t = mintToken({ clinic: 'north', role: 'device', patient: 'p-1', sub: 'ipad-7', ttlSeconds: 600 }, hs, NOW);
    expect(verifyToken(t, hs, NOW + 1000)).toEqual({
      ok: true,
      claims: { clinic: 'north', role: 'device', patient: 'p-1', sub: 'ipad-7', iat: NOW / 1000, exp: NOW / 1000 + 600 },
    });
  });

  it('MISSING for no token', () => {
    expect(verifyToken(undefined, hs, NOW)).toMatchObject({ ok: false, code: 'MISSING' });
    expect(verifyToken('', hs, NOW)).toMatchObject({ ok: false, code: 'MISSING' });
  });

  it('EXPIRED past exp plus the clock skew, valid within it', () => {
    const t = mintToken(therapist, hs, NOW);
    const exp = NOW + 3600_000;
    expect(verifyToken(t, hs, exp + (DEFAULT_CLOCK_SKEW_S - 1) * 1000).ok).toBe(true);
    expect(verifyToken(t, hs, exp + (DEFAULT_CLOCK_SKEW_S + 1) * 1000)).toMatchObject({ ok: false, code: 'EXPIRED' });
  });

  it('BAD_SIGNATURE for a tampered payload or the wrong secret', () => {
    const t = mintToken(therapist, hs, NOW);
    const [h, , s] = t.split('.');
    const admin = `${h}.${b64({ ...claims, role: 'admin' })}.${s}`;
    expect(verifyToken(admin, hs, NOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifyToken(t, hmacKeyConfig('another-secret-also-32-bytes-long!!'), NOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    const sig = s!;
    const flipped = `${h}.${t.split('.')[1]}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    expect(verifyToken(flipped, hs, NOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('WRONG_ALG for alg none (with or without a signature) and for other algs', () => {
    expect(verifyToken(forge({ alg: 'none' }, claims, undefined), hs, NOW)).toMatchObject({ ok: false, code: 'MALFORMED' });
    expect(verifyToken(`${b64({ alg: 'none' })}.${b64(claims)}.x`, hs, NOW)).toMatchObject({ ok: false, code: 'WRONG_ALG' });
    expect(verifyToken(forge({ alg: 'HS512' }, claims, SECRET), hs, NOW)).toMatchObject({ ok: false, code: 'WRONG_ALG' });
    expect(verifyToken(forge({ alg: 'hs256' }, claims, SECRET), hs, NOW)).toMatchObject({ ok: false, code: 'WRONG_ALG' });
  });

  it('MALFORMED shapes', () => {
    for (const t of ['abc', 'a.b', 'a.b.c.d', '!!.??.**', `${b64('str')}.${b64(claims)}.sig`, `${b64({ typ: 'JWT' })}.${b64(claims)}.sig`, 'x'.repeat(9000)]) {
      expect(verifyToken(t, hs, NOW)).toMatchObject({ ok: false, code: 'MALFORMED' });
    }
    expect(verifyToken(forge({ alg: 'HS256', crit: ['exp'] }, claims, SECRET), hs, NOW)).toMatchObject({ ok: false, code: 'MALFORMED' });
  });

  it('INVALID_CLAIMS for well-signed but unusable claims', () => {
    const bad = (p: object) => verifyToken(forge({ alg: 'HS256' }, p, SECRET), hs, NOW);
    expect(bad({ ...claims, role: 'device' })).toMatchObject({ code: 'INVALID_CLAIMS', message: 'token claim patient: a device token must name its patient' });
    expect(bad({ ...claims, role: 'root' })).toMatchObject({ code: 'INVALID_CLAIMS' });
    expect(bad({ ...claims, clinic: '../x' })).toMatchObject({ code: 'INVALID_CLAIMS' });
    expect(bad({ role: 'admin', iat: claims.iat, exp: claims.exp })).toMatchObject({ code: 'INVALID_CLAIMS' });
    expect(bad({ ...claims, iat: claims.iat + 3600, exp: claims.exp + 3600 })).toMatchObject({
      code: 'INVALID_CLAIMS',
      message: expect.stringContaining('future'),
    });
    expect(bad({ ...claims, nbf: claims.iat + 600 })).toMatchObject({ code: 'INVALID_CLAIMS', message: expect.stringContaining('not valid before') });
    expect(verifyToken(forge({ alg: 'HS256' }, claims, SECRET), hs, NOW).ok).toBe(true);
  });

  it('refuses short secrets and unmintable claims with AuthError', () => {
    expect(() => hmacKeyConfig('short')).toThrow(AuthError);
    expect(() => mintToken({ clinic: 'north', role: 'device', ttlSeconds: 60 }, hs, NOW)).toThrow(
      expect.objectContaining({ name: 'AuthError', code: 'AUTH_INVALID_CLAIMS' }),
    );
    expect(() => mintToken({ ...therapist, ttlSeconds: 0 }, hs, NOW)).toThrow(AuthError);
  });
});

describe.each([
  ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
] as const)('%s', (alg, gen) => {
  const { publicKey, privateKey } = gen();
  const pubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const signer = publicKeyConfig(pubPem, privPem);
  const verifier = publicKeyConfig(pubPem);

  it('picks the alg from the key type', () => expect(verifier.alg).toBe(alg));

  it('mints with the private key, verifies with the public key alone', () => {
    const t = mintToken({ clinic: 'north', role: 'admin', ttlSeconds: 60 }, signer, NOW);
    expect(verifyToken(t, verifier, NOW)).toMatchObject({ ok: true, claims: { clinic: 'north', role: 'admin' } });
    expect(() => mintToken(therapist, verifier, NOW)).toThrow(expect.objectContaining({ code: 'AUTH_NO_SIGNING_KEY' }));
  });

  it('rejects a token signed by another key pair', () => {
    const other = gen();
    const t = mintToken(therapist, publicKeyConfig(other.publicKey, other.privateKey), NOW);
    expect(verifyToken(t, verifier, NOW)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('alg confusion: an HS256 token keyed with the public key PEM is refused', () => {
    const t = forge({ alg: 'HS256' }, claims, pubPem);
    expect(verifyToken(t, verifier, NOW)).toMatchObject({ ok: false, code: 'WRONG_ALG' });
  });
});

describe('key configuration', () => {
  it('rejects unsupported keys and mismatched pairs', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => publicKeyConfig(ed.publicKey)).toThrow(expect.objectContaining({ code: 'AUTH_INVALID_KEY' }));
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => publicKeyConfig(small.publicKey)).toThrow(/1024 bits/);
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => publicKeyConfig(a.publicKey, b.privateKey)).toThrow(/does not match/);
    expect(() => publicKeyConfig('not a pem')).toThrow(AuthError);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => publicKeyConfig(p384.publicKey)).toThrow(/secp384r1/);
  });

  it('HS256 key config holds the secret bytes', () => {
    const k: KeyConfig = hmacKeyConfig(new Uint8Array(32).fill(7));
    expect(k.alg).toBe('HS256');
  });
});
