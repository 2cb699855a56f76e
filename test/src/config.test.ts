import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, SHIPPED_MODEL_DIR, loadConfig, renderConfigTable, renderHelp, wantsHelp } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { repoRoot } from '../helpers/motion-data.js';

const SECRET = 's'.repeat(40);
const fixed = { randomSecret: () => 'generated-secret' };

function configError(argv: string[], env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(argv, env, fixed);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults', () => {
    const c = loadConfig([], {}, fixed);
    expect(c).toEqual({
      port: 8080,
      host: '0.0.0.0',
      dataDir: './data',
      natsUrl: undefined,
      jsReplicas: 1,
      mode: 'embedded',
      jwt: { kind: 'secret', secret: 'generated-secret', generated: true },
      backend: 'auto',
      modelDir: SHIPPED_MODEL_DIR,
      inferMaxBatch: 64,
      inferMaxWaitMs: 4,
      inferWorkers: 1,
      inferQueueLimit: 4096,
      inferUrl: undefined,
      inferTimeoutMs: 1000,
      inferMaxInflight: 4096,
      mcPasses: 10,
      horizons: [1, 5, 10, 30],
      livePoses: true,
      liveUpdateHz: 30,
      snapshotSeconds: 5,
      resumeWindowS: 30,
      fsync: 'batch',
      fsyncIntervalMs: 100,
      maxPayloadBytes: 65536,
      maxBackpressureBytes: 1048576,
      maxMsgsPerS: 240,
      maxInvalidMsgs: 16,
      invalidMsgsWindowS: 10,
      modelCache: 256,
      logLevel: 'info',
      jobWorkers: 1,
      jobHold: 16,
      backgroundDutyPct: 25,
      taskpackRedeliverS: 30,
    });
    expect(SHIPPED_MODEL_DIR).toBe(join(repoRoot, 'models', 'pretrained'));
  });

  it('is frozen, nested parts too', () => {
    const c = loadConfig([], {}, fixed);
    expect(Object.isFrozen(c) && Object.isFrozen(c.jwt) && Object.isFrozen(c.horizons)).toBe(true);
  });

  it('a generated secret is random and 32 bytes when nothing is injected', () => {
    const a = loadConfig([], {}).jwt;
    const b = loadConfig([], {}).jwt;
    if (a.kind !== 'secret' || b.kind !== 'secret') throw new Error('expected secrets');
    expect(a.secret).not.toBe(b.secret);
    expect(Buffer.from(a.secret, 'base64url')).toHaveLength(32);
  });

  it('env is read; flags win over env; --name=value works; empty env counts as unset', () => {
    const env = { PORT: '9000', HOST: '127.0.0.1', HORIZONS: '1,2', LOG_LEVEL: 'debug', DATA_DIR: '' };
    expect(loadConfig([], env, fixed)).toMatchObject({ port: 9000, host: '127.0.0.1', horizons: [1, 2], logLevel: 'debug', dataDir: './data' });
    expect(loadConfig(['--port', '9100', '--horizons=3,4', '--data', '/var/jepa'], env, fixed)).toMatchObject({
      port: 9100,
      horizons: [3, 4],
      host: '127.0.0.1',
      dataDir: '/var/jepa',
    });
  });

  it('distributed mode with a shared secret or a public key', () => {
    expect(loadConfig(['--nats', 'nats://127.0.0.1:4222'], { JEPA_JWT_SECRET: SECRET }, fixed)).toMatchObject({
      mode: 'distributed',
      natsUrl: 'nats://127.0.0.1:4222',
      jwt: { kind: 'secret', secret: SECRET, generated: false },
    });
    expect(loadConfig([], { NATS_URL: 'nats://a:4222,nats://b:4222', JEPA_JWT_PUBLIC_KEY: '/etc/jepa/jwt.pem' }, fixed).jwt).toEqual({
      kind: 'public-key',
      publicKeyPath: '/etc/jepa/jwt.pem',
    });
  });

  it.each([
    [['--port', '70000'], {}, 'CONFIG_INVALID_VALUE', '--port', '--port 70000: must be 0–65535'],
    [[], { PORT: '70000' }, 'CONFIG_INVALID_VALUE', 'PORT', 'PORT=70000: must be 0–65535'],
    [[], { PORT: '80a' }, 'CONFIG_INVALID_VALUE', 'PORT', 'PORT=80a: must be an integer 0–65535'],
    [['--backend', 'gpu'], {}, 'CONFIG_INVALID_VALUE', '--backend', '--backend gpu: must be one of tensorflow, wasm, cpu, auto'],
    [['--taskpack-redeliver-s', '0'], {}, 'CONFIG_INVALID_VALUE', '--taskpack-redeliver-s', '--taskpack-redeliver-s 0: must be 1–3600'],
    [
      [],
      { HORIZONS: '5,1' },
      'CONFIG_INVALID_VALUE',
      'HORIZONS',
      'HORIZONS=5,1: must be up to 16 strictly ascending integers 1–600, comma-separated (e.g. 1,5,10,30)',
    ],
    [
      [],
      { NATS_URL: 'not a url', JEPA_JWT_SECRET: SECRET },
      'CONFIG_INVALID_VALUE',
      'NATS_URL',
      'NATS_URL=not a url: must be NATS server URLs, comma-separated (e.g. nats://127.0.0.1:4222)',
    ],
    [['--prot', '1'], {}, 'CONFIG_UNKNOWN_FLAG', '--prot', 'unknown option --prot (did you mean --port?)'],
    [['--help'], {}, 'CONFIG_UNKNOWN_FLAG', '--help', 'unknown option --help'],
    [['--port'], {}, 'CONFIG_BAD_ARGUMENT', '--port', '--port needs a value'],
    [['--port', '1', '--port', '2'], {}, 'CONFIG_BAD_ARGUMENT', '--port', '--port given twice'],
    [['serve'], {}, 'CONFIG_BAD_ARGUMENT', 'serve', 'unexpected argument "serve": options are --name value'],
  ] as const)('%j %j → %s', (argv, env, code, setting, message) => {
    expect(configError([...argv], env)).toMatchObject({ name: 'ConfigError', code, setting, message });
  });

  it.each([
    [[], { JEPA_JWT_PUBLIC_KEY: '/k.pem', JEPA_JWT_SECRET: SECRET }, 'JEPA_JWT_PUBLIC_KEY', 'JEPA_JWT_PUBLIC_KEY and JEPA_JWT_SECRET both set: choose one'],
    [['--jwt-public-key', '/k.pem'], { JEPA_JWT_SECRET: SECRET }, '--jwt-public-key', '--jwt-public-key and JEPA_JWT_SECRET both set: choose one'],
    [[], { JEPA_JWT_SECRET: 'short' }, 'JEPA_JWT_SECRET', 'JEPA_JWT_SECRET is 5 bytes: needs at least 32'],
    [['--js-replicas', '3'], {}, '--js-replicas', '--js-replicas 3 needs a NATS cluster, but NATS_URL is not set'],
    [
      ['--nats', 'nats://127.0.0.1:4222'],
      {},
      '--nats',
      '--nats set (distributed mode) but neither JEPA_JWT_SECRET nor JEPA_JWT_PUBLIC_KEY: every node must verify the same tokens, a generated secret cannot be shared',
    ],
    [[], { FSYNC: 'always', FSYNC_INTERVAL_MS: '10' }, 'FSYNC_INTERVAL_MS', 'FSYNC_INTERVAL_MS only applies to FSYNC=batch, but FSYNC is always'],
    [['--infer-queue-limit', '50'], {}, '--infer-queue-limit', '--infer-queue-limit 50 is below INFER_MAX_BATCH 64: a full batch could never form'],
    [
      [],
      { MAX_BACKPRESSURE_BYTES: '2048', MAX_PAYLOAD_BYTES: '4096' },
      'MAX_BACKPRESSURE_BYTES',
      'MAX_BACKPRESSURE_BYTES 2048 is below MAX_PAYLOAD_BYTES 4096: one message would overflow the send buffer',
    ],
    [[], { MAX_MSGS_PER_S: '60' }, 'MAX_MSGS_PER_S', 'MAX_MSGS_PER_S 60 is below 90: an iPad streams 60 frames/s and would be rate limited'],
    [
      [],
      { JEPA_WORKERS: '0' },
      'JEPA_WORKERS',
      'JEPA_WORKERS 0 without NATS_URL: the in-process bus lives in this process, so no other process could take its jobs (set NATS_URL and run `jepa-motion worker`, or keep at least 1)',
    ],
    [['--workers', '4', '--job-hold', '2'], {}, '--job-hold', '--job-hold 2 is below --workers 4: some threads could never get a job'],
  ] as const)('contradiction %#: %s', (argv, env, setting, message) => {
    expect(configError([...argv], env)).toMatchObject({ code: 'CONFIG_CONTRADICTION', setting, message });
  });

  it('job consumers: serve runs one retrain thread by default, none with NATS; a worker needs NATS but no token key', () => {
    expect(loadConfig([], {}, fixed)).toMatchObject({ jobWorkers: 1, jobHold: 16, backgroundDutyPct: 25 });
    expect(loadConfig(['--background-duty', '100'], {}, fixed).backgroundDutyPct).toBe(100);
    expect(() => loadConfig([], { JEPA_BACKGROUND_DUTY: '0' }, fixed)).toThrow(/JEPA_BACKGROUND_DUTY/);
    expect(loadConfig(['--workers', '0', '--nats', 'nats://127.0.0.1:4222'], { JEPA_JWT_SECRET: SECRET }, fixed).jobWorkers).toBe(0);
    expect(loadConfig(['--nats', 'nats://127.0.0.1:4222'], {}, { ...fixed, role: 'worker' })).toMatchObject({ mode: 'distributed', jobWorkers: 1 });
    expect(() => loadConfig([], {}, { ...fixed, role: 'worker' })).toThrow(
      'jepa-motion worker needs NATS_URL (or --nats): without NATS the jobs live inside the `serve` process, which runs its own retrain threads',
    );
  });

  it('never echoes the secret in an error', () => {
    const e = configError([], { JEPA_JWT_SECRET: 'hunter2' });
    expect(e.message).not.toContain('hunter2');
  });
});

describe('config docs', () => {
  it('every setting is documented once, with env, default and description', () => {
    expect(new Set(CONFIG_DOC.map((d) => d.env)).size).toBe(CONFIG_DOC.length);
    const keys = Object.keys(loadConfig([], {}, fixed));
    for (const d of CONFIG_DOC) if (!d.name.startsWith('jwt')) expect(keys).toContain(d.name);
    expect(renderConfigTable().split('\n')).toHaveLength(CONFIG_DOC.length + 2);
    expect(renderHelp()).toContain('--port');
    expect(wantsHelp(['--port', '1', '-h'])).toBe(true);
    expect(wantsHelp(['--port', '1'])).toBe(false);
  });

  // README.md (repo root) must contain the generated table: paste renderConfigTable() there.
  it('README contains the configuration table', () => {
    const readme = join(repoRoot, 'README.md');
    expect(existsSync(readme) ? readFileSync(readme, 'utf8') : '').toContain(renderConfigTable());
  });
});
