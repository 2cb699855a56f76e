import { readFile } from 'node:fs/promises';
import { hmacKeyConfig, mintToken, publicKeyConfig, Role, type KeyConfig } from '../auth/index.js';
import { loadConfig } from '../config.js';
import { parseFlags, UsageError, type CliIo } from './io.js';

export const tokenUsage = 'jepa-motion token --clinic C --role device|therapist|admin [--patient P] [--ttl 8h] [--private-key PEM] [--json]';

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Longest token we mint: a device on a stand is re-provisioned at least monthly. */
const MAX_TTL_S = 31 * 86400;

export function parseTtl(text: string): number {
  const m = /^([0-9]+)([smhd]?)$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * (TTL_UNITS[m[2] || 's'] ?? 1) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_TTL_S) {
    throw new UsageError(`--ttl ${text}: expected a duration like 900, 15m, 8h or 7d, at most 31d`);
  }
  return seconds;
}

/**
 * Mints a token with the same key `serve` verifies with: JEPA_JWT_SECRET (HS256), or for
 * JEPA_JWT_PUBLIC_KEY deployments the matching private key given with --private-key.
 */
export async function tokenCommand(args: string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    clinic: { type: 'string' },
    role: { type: 'string' },
    patient: { type: 'string' },
    ttl: { type: 'string', default: '8h' },
    'private-key': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (!values.clinic) throw new UsageError('--clinic is required');
  const role = Role.safeParse(values.role);
  if (!role.success) throw new UsageError(`--role ${values.role ?? '(missing)'}: must be device, therapist or admin`);
  if (role.data === 'device' && !values.patient) throw new UsageError('--patient is required for a device token');
  const ttlSeconds = parseTtl(values.ttl);

  const config = loadConfig([], io.env);
  let key: KeyConfig;
  if (config.jwt.kind === 'secret') {
    if (config.jwt.generated) {
      throw new UsageError(
        'JEPA_JWT_SECRET is not set: a token signed with a throw-away secret matches no server. Set the same JEPA_JWT_SECRET (≥ 32 bytes) for serve and token, or use the token `npm start` prints',
      );
    }
    key = hmacKeyConfig(config.jwt.secret);
  } else {
    if (!values['private-key']) throw new UsageError('JEPA_JWT_PUBLIC_KEY is set: give the matching private key with --private-key <pem file>');
    key = publicKeyConfig(await readFile(config.jwt.publicKeyPath, 'utf8'), await readFile(values['private-key'], 'utf8'));
  }
  const token = mintToken({ clinic: values.clinic, role: role.data, ttlSeconds, ...(values.patient ? { patient: values.patient } : {}) }, key, now());
  io.out(
    values.json
      ? `${JSON.stringify({ token, clinic: values.clinic, role: role.data, patient: values.patient ?? null, expires_in_s: ttlSeconds })}\n`
      : `${token}\n`,
  );
  return 0;
}
