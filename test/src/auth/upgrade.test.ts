import { describe, expect, it } from 'vitest';
import { bearerProtocols, canIngest, canSubscribe, tokenFromUpgrade, type Claims } from '../../../src/auth/index.js';

describe('tokenFromUpgrade', () => {
  it('reads bearer.<token> from Sec-WebSocket-Protocol and selects the protocol name to echo', () => {
    expect(tokenFromUpgrade({ protocol: 'jepa-motion.v1, bearer.aaa.bbb.ccc' })).toEqual({
      token: 'aaa.bbb.ccc',
      source: 'protocol',
      subprotocol: 'jepa-motion.v1',
    });
    expect(tokenFromUpgrade({ protocol: bearerProtocols('x.y.z').join(',') })).toMatchObject({ token: 'x.y.z', subprotocol: 'jepa-motion.v1' });
  });

  it('falls back to ?token=, with or without the leading ?', () => {
    expect(tokenFromUpgrade({ query: '?foo=1&token=t.o.k' })).toEqual({ token: 't.o.k', source: 'query', subprotocol: undefined });
    expect(tokenFromUpgrade({ query: 'token=t.o.k', protocol: 'jepa-motion.v1' })).toEqual({ token: 't.o.k', source: 'query', subprotocol: 'jepa-motion.v1' });
  });

  it('the subprotocol wins over the query', () => {
    expect(tokenFromUpgrade({ protocol: 'bearer.from-header', query: 'token=from-query' })).toMatchObject({
      token: 'from-header',
      source: 'protocol',
      subprotocol: undefined,
    });
  });

  it('no token: empty header, empty bearer, empty query', () => {
    expect(tokenFromUpgrade({})).toEqual({ token: undefined, source: undefined, subprotocol: undefined });
    expect(tokenFromUpgrade({ protocol: 'bearer., other', query: 'token=' })).toEqual({ token: undefined, source: undefined, subprotocol: undefined });
  });
});

const c = (role: Claims['role'], clinic = 'north', patient?: string): Claims =>
  patient === undefined ? { clinic, role, iat: 0, exp: 1 } : { clinic, role, patient, iat: 0, exp: 1 };

describe('authorisation', () => {
  it('canSubscribe: therapists and admins of the same clinic only, devices never', () => {
    expect(canSubscribe(c('therapist'), { clinic: 'north' })).toBe(true);
    expect(canSubscribe(c('admin'), { clinic: 'north', sessionId: 's-1' })).toBe(true);
    expect(canSubscribe(c('therapist'), { clinic: 'south' })).toBe(false);
    expect(canSubscribe(c('admin'), { clinic: 'south', sessionId: 's-1' })).toBe(false);
    expect(canSubscribe(c('device', 'north', 'p-1'), { clinic: 'north' })).toBe(false);
  });

  it('canIngest: a device for its own patient, or an admin', () => {
    expect(canIngest(c('device', 'north', 'p-1'), 'p-1')).toBe(true);
    expect(canIngest(c('device', 'north', 'p-1'), 'p-2')).toBe(false);
    expect(canIngest(c('admin'), 'p-2')).toBe(true);
    expect(canIngest(c('therapist'), 'p-1')).toBe(false);
  });
});
