import { describe, expect, it } from 'vitest';
import { hmacKeyConfig, verifyToken } from '../../../src/auth/index.js';
import { main } from '../../../src/cli/main.js';
import { parseTtl } from '../../../src/cli/token.js';
import { captureIo } from './cli-helpers.js';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';

describe('jepa-motion token', () => {
  it('mints a token the server key verifies, with the claims asked for', async () => {
    const io = captureIo({ JEPA_JWT_SECRET: SECRET });
    expect(await main(['token', '--clinic', 'north', '--role', 'device', '--patient', 'p-17', '--ttl', '15m'], io)).toBe(0);
    const token = io.stdout().trim();
    const result = verifyToken(token, hmacKeyConfig(SECRET), Date.now());
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.claims).toMatchObject({ clinic: 'north', role: 'device', patient: 'p-17' });
      expect(result.claims.exp - result.claims.iat).toBe(900);
    }
    expect(verifyToken(token, hmacKeyConfig(`${SECRET}-other`), Date.now()).ok).toBe(false);
  });

  it('refuses to mint with a throw-away secret, and names what is missing', async () => {
    const io = captureIo({});
    expect(await main(['token', '--clinic', 'north', '--role', 'therapist'], io)).toBe(2);
    expect(io.stderr()).toMatch(/JEPA_JWT_SECRET is not set/);
    const noPatient = captureIo({ JEPA_JWT_SECRET: SECRET });
    expect(await main(['token', '--clinic', 'north', '--role', 'device'], noPatient)).toBe(2);
    expect(noPatient.stderr()).toMatch(/--patient is required/);
    const badRole = captureIo({ JEPA_JWT_SECRET: SECRET });
    expect(await main(['token', '--clinic', 'north', '--role', 'nurse'], badRole)).toBe(2);
    expect(badRole.stderr()).toMatch(/--role nurse: must be device, therapist or admin/);
  });

  it('parses durations and rejects nonsense', () => {
    expect(parseTtl('900')).toBe(900);
    expect(parseTtl('8h')).toBe(28800);
    expect(parseTtl('7d')).toBe(604800);
    expect(() => parseTtl('0')).toThrow(/--ttl 0/);
    expect(() => parseTtl('40d')).toThrow(/at most 31d/);
    expect(() => parseTtl('soon')).toThrow(/expected a duration/);
  });
});
