// Configuration, parsed once: env + flags → a frozen, typed object. This is the only module that
// reads configuration; callers pass `process.argv.slice(3)` and `process.env` in (nothing here touches
// process.env, so tests pass plain objects). Flags win over env; an empty env value counts as unset.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, ConfigErrorCode } from './errors.js';

/** The pretrained model shipped with the package (absolute; independent of the working directory). */
export const SHIPPED_MODEL_DIR = fileURLToPath(new URL('../models/pretrained', import.meta.url));
/** HS256 secrets shorter than this are refused (RFC 7518 §3.2). */
export const MIN_JWT_SECRET_BYTES = 32;
/** MAX_MSGS_PER_S below this would rate-limit a healthy iPad: 60 Hz frames plus 50 % jitter headroom. */
export const MIN_MSGS_PER_S = 90;

export type Backend = 'tensorflow' | 'wasm' | 'cpu' | 'auto';
export type FsyncMode = 'always' | 'batch' | 'never';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** How tokens are verified: a shared HS256 secret, or a public key (RS256/ES256) read from a PEM file. */
export type JwtConfig =
  | { readonly kind: 'secret'; readonly secret: string; /** True when generated at start (embedded mode, dev only). */ readonly generated: boolean }
  | { readonly kind: 'public-key'; readonly publicKeyPath: string };

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** NATS servers (comma-separated URLs); undefined = embedded mode with the in-process bus. */
  readonly natsUrl: string | undefined;
  /** Replicas of every JetStream stream, KV and object-store bucket this process creates (3 on a 3-server cluster). */
  readonly jsReplicas: number;
  readonly mode: 'embedded' | 'distributed';
  readonly jwt: JwtConfig;
  readonly backend: Backend;
  readonly modelDir: string;
  readonly inferMaxBatch: number;
  readonly inferMaxWaitMs: number;
  readonly inferWorkers: number;
  readonly inferQueueLimit: number;
  /** NATS servers of a `jepa-motion infer` service; set = serve sends inference there (src/inference/remote-*). */
  readonly inferUrl: string | undefined;
  readonly inferTimeoutMs: number;
  readonly inferMaxInflight: number;
  readonly mcPasses: number;
  readonly horizons: readonly number[];
  /** Decode every prediction to a world pose (feedback.predictions[].pose) with the model's probe.npz. */
  readonly livePoses: boolean;
  readonly liveUpdateHz: number;
  readonly snapshotSeconds: number;
  readonly resumeWindowS: number;
  readonly fsync: FsyncMode;
  readonly fsyncIntervalMs: number;
  readonly maxPayloadBytes: number;
  readonly maxBackpressureBytes: number;
  readonly maxMsgsPerS: number;
  /** More than this many invalid messages within invalidMsgsWindowS close the connection with 4002. */
  readonly maxInvalidMsgs: number;
  readonly invalidMsgsWindowS: number;
  readonly modelCache: number;
  readonly logLevel: LogLevel;
  /** Retrain processes (batches training in parallel) of `serve`; 0 = serve consumes no jobs. */
  readonly jobWorkers: number;
  /** Retrain jobs a process holds at once (coalescing line + running); the rest wait in the bus. */
  readonly jobHold: number;
  /** Percent of the time background jobs compute while this node has live sessions (src/jobs/pacer.ts). */
  readonly backgroundDutyPct: number;
  /** Seconds after which a task-pack job of a dead worker is redelivered (NATS; running builds heartbeat). */
  readonly taskpackRedeliverS: number;
}

// Each raw value is a string; these schemas turn it into the typed value with the message users see.
function int(min: number, max: number) {
  return z.string().transform((s, ctx) => {
    const n = /^[0-9]+$/.test(s.trim()) ? Number(s.trim()) : NaN;
    if (!Number.isSafeInteger(n)) {
      ctx.addIssue({ code: 'custom', message: `must be an integer ${min}–${max}` });
      return z.NEVER;
    }
    if (n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be ${min}–${max}` });
      return z.NEVER;
    }
    return n;
  });
}
const oneOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z.string().transform((s, ctx) => {
    if (!(values as readonly string[]).includes(s)) {
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}` });
      return z.NEVER;
    }
    return s as T;
  });
const text = z.string().min(1, 'must not be empty');
const horizonList = z.string().transform((s, ctx) => {
  const parts = s.split(',').map((p) => p.trim());
  const values = parts.map((p) => (/^[0-9]+$/.test(p) ? Number(p) : NaN));
  const ascending = values.every((v, i) => i === 0 || v > values[i - 1]!);
  if (values.length > 16 || values.some((v) => !(v >= 1 && v <= 600)) || !ascending) {
    ctx.addIssue({ code: 'custom', message: 'must be up to 16 strictly ascending integers 1–600, comma-separated (e.g. 1,5,10,30)' });
    return z.NEVER;
  }
  return values;
});
const natsUrls = z
  .string()
  .regex(/^((nats|tls|ws|wss):\/\/)?[^\s,/]+(,((nats|tls|ws|wss):\/\/)?[^\s,/]+)*$/, 'must be NATS server URLs, comma-separated (e.g. nats://127.0.0.1:4222)');

interface Setting {
  readonly key: keyof Config | 'jwtSecret' | 'jwtPublicKey';
  readonly env: string;
  readonly flag?: string;
  /** Default as raw text (parsed like user input); undefined = unset. */
  readonly default: string | undefined;
  /** How the default reads in docs when it is not a literal. */
  readonly defaultDoc?: string;
  readonly schema: z.ZodType<unknown, string>;
  readonly description: string;
}

const SETTINGS: readonly Setting[] = [
  { key: 'port', env: 'PORT', flag: '--port', default: '8080', schema: int(0, 65535), description: 'HTTP/WebSocket port (0 = any free port).' },
  { key: 'host', env: 'HOST', flag: '--host', default: '0.0.0.0', schema: text, description: 'Address to listen on.' },
  {
    key: 'dataDir',
    env: 'DATA_DIR',
    flag: '--data',
    default: './data',
    schema: text,
    description: 'Recordings, artifacts and the local outbox (embedded mode).',
  },
  {
    key: 'natsUrl',
    env: 'NATS_URL',
    flag: '--nats',
    default: undefined,
    defaultDoc: 'unset (in-process bus)',
    schema: natsUrls,
    description: 'NATS servers; set = distributed mode (JetStream jobs, KV registry, object store).',
  },
  {
    key: 'jsReplicas',
    env: 'JETSTREAM_REPLICAS',
    flag: '--js-replicas',
    default: '1',
    schema: int(1, 5),
    description: 'Replicas of the JetStream streams and buckets the node creates (3 on a 3-server NATS cluster; existing ones keep theirs).',
  },
  {
    key: 'jwtSecret',
    env: 'JEPA_JWT_SECRET',
    default: undefined,
    defaultDoc: 'generated at start (embedded mode only)',
    schema: text,
    description: `HS256 secret (≥ ${MIN_JWT_SECRET_BYTES} bytes). Env only: secrets do not belong in argv.`,
  },
  {
    key: 'jwtPublicKey',
    env: 'JEPA_JWT_PUBLIC_KEY',
    flag: '--jwt-public-key',
    default: undefined,
    defaultDoc: 'unset',
    schema: text,
    description: 'Path of a PEM public key (RSA → RS256, EC P-256 → ES256) to verify tokens with.',
  },
  {
    key: 'backend',
    env: 'JEPA_BACKEND',
    flag: '--backend',
    default: 'auto',
    defaultDoc: 'unset (auto: tensorflow, else wasm, else cpu)',
    schema: oneOf(['tensorflow', 'wasm', 'cpu', 'auto']),
    description: 'TensorFlow.js backend.',
  },
  {
    key: 'modelDir',
    env: 'MODEL_DIR',
    flag: '--model',
    default: SHIPPED_MODEL_DIR,
    defaultDoc: 'models/pretrained (shipped)',
    schema: text,
    description: 'Pretrained world model directory.',
  },
  {
    key: 'inferMaxBatch',
    env: 'INFER_MAX_BATCH',
    flag: '--infer-max-batch',
    default: '64',
    schema: int(1, 65536),
    description:
      'Most frames in one inference batch. After a stall the backlog runs oldest-first in batches of this size, so its oldest frames are answered after one batch, not after all of it; a wasm row costs within 3 % of what it costs at 256. Raise it on a GPU host.',
  },
  {
    key: 'inferMaxWaitMs',
    env: 'INFER_MAX_WAIT_MS',
    flag: '--infer-max-wait-ms',
    default: '4',
    schema: int(0, 1000),
    description: 'Longest a frame waits for its batch to fill (ms).',
  },
  { key: 'inferWorkers', env: 'INFER_WORKERS', flag: '--infer-workers', default: '1', schema: int(1, 64), description: 'Inference worker threads.' },
  {
    key: 'inferQueueLimit',
    env: 'INFER_QUEUE_LIMIT',
    flag: '--infer-queue-limit',
    default: '4096',
    schema: int(1, 1_000_000),
    description: 'Frames waiting for inference; beyond it new frames are shed (stored, answered `shed`).',
  },
  {
    key: 'inferUrl',
    env: 'INFER_URL',
    flag: '--infer-url',
    default: undefined,
    defaultDoc: 'unset (in-process engine)',
    schema: natsUrls,
    description: 'NATS servers where `jepa-motion infer` answers (subject jepa.infer.v1.*); set = serve runs no engine of its own. `infer` listens there.',
  },
  {
    key: 'inferTimeoutMs',
    env: 'INFER_TIMEOUT_MS',
    flag: '--infer-timeout-ms',
    default: '1000',
    schema: int(10, 60_000),
    description: 'With INFER_URL: a frame the infer service has not answered by then is answered `shed` (no_workers).',
  },
  {
    key: 'inferMaxInflight',
    env: 'INFER_MAX_INFLIGHT',
    flag: '--infer-max-inflight',
    default: '4096',
    schema: int(1, 1_000_000),
    description: 'Frames awaiting a remote answer: per serve node (beyond it shed `queue_full`), and per infer process (beyond it replied OVERLOADED).',
  },
  { key: 'mcPasses', env: 'MC_PASSES', flag: '--mc-passes', default: '10', schema: int(1, 100), description: 'MC-dropout passes per frame (uncertainty).' },
  { key: 'horizons', env: 'HORIZONS', flag: '--horizons', default: '1,5,10,30', schema: horizonList, description: 'Prediction horizons in frames, ascending.' },
  {
    key: 'livePoses',
    env: 'LIVE_POSES',
    flag: '--live-poses',
    default: '1',
    schema: oneOf(['0', '1']).transform((v) => v === '1'),
    description: "1 = decode each prediction to a world pose in feedback (needs the model's probe.npz); 0 = uncertainty only.",
  },
  {
    key: 'liveUpdateHz',
    env: 'LIVE_UPDATE_HZ',
    flag: '--live-update-hz',
    default: '30',
    schema: int(1, 60),
    description: 'Most `update` messages per second per session to a dashboard.',
  },
  {
    key: 'snapshotSeconds',
    env: 'SNAPSHOT_SECONDS',
    flag: '--snapshot-seconds',
    default: '5',
    schema: int(0, 60),
    description: 'History sent as `snapshot` on subscribe (s).',
  },
  {
    key: 'resumeWindowS',
    env: 'RESUME_WINDOW_S',
    flag: '--resume-window-s',
    default: '30',
    schema: int(0, 3600),
    description: 'How long a dropped ingest session can be resumed (s).',
  },
  {
    key: 'fsync',
    env: 'FSYNC',
    flag: '--fsync',
    default: 'batch',
    schema: oneOf(['always', 'batch', 'never']),
    description: 'Recording durability: fsync every frame, every FSYNC_INTERVAL_MS, or never (acks wait for it).',
  },
  {
    key: 'fsyncIntervalMs',
    env: 'FSYNC_INTERVAL_MS',
    flag: '--fsync-interval-ms',
    // 100 ms: acks 10 times a second (a device keeps ~17 s of unacked frames); against 50 ms it halved
    // the thread-pool write + fdatasync calls per frame (bench, README "Live server").
    default: '100',
    schema: int(1, 10_000),
    description: "Group-commit interval for FSYNC=batch (ms): one commit of all sessions' recordings per interval; acks follow each commit.",
  },
  {
    key: 'maxPayloadBytes',
    env: 'MAX_PAYLOAD_BYTES',
    flag: '--max-payload-bytes',
    default: '65536',
    schema: int(1024, 16 * 1024 * 1024),
    description: 'Largest WebSocket message accepted.',
  },
  {
    key: 'maxBackpressureBytes',
    env: 'MAX_BACKPRESSURE_BYTES',
    flag: '--max-backpressure-bytes',
    default: '1048576',
    schema: int(1024, 1024 * 1024 * 1024),
    description: 'Send buffer per connection before it is closed as a slow consumer.',
  },
  {
    key: 'maxMsgsPerS',
    env: 'MAX_MSGS_PER_S',
    flag: '--max-msgs-per-s',
    default: '240',
    schema: int(1, 100_000),
    description: 'Messages per second per connection before RATE_LIMITED.',
  },
  {
    key: 'maxInvalidMsgs',
    env: 'MAX_INVALID_MSGS',
    flag: '--max-invalid-msgs',
    default: '16',
    schema: int(1, 100_000),
    description: 'Messages the codec rejects (not msgpack, unknown type, bad field) per INVALID_MSGS_WINDOW_S; one more closes with 4002.',
  },
  {
    key: 'invalidMsgsWindowS',
    env: 'INVALID_MSGS_WINDOW_S',
    flag: '--invalid-msgs-window-s',
    default: '10',
    schema: int(1, 3600),
    description: 'Sliding window over which MAX_INVALID_MSGS is counted (s).',
  },
  {
    key: 'modelCache',
    env: 'MODEL_CACHE',
    flag: '--model-cache',
    default: '256',
    schema: int(1, 100_000),
    description: 'Per-patient models kept loaded (LRU).',
  },
  {
    key: 'logLevel',
    env: 'LOG_LEVEL',
    flag: '--log-level',
    default: 'info',
    schema: oneOf(['debug', 'info', 'warn', 'error', 'silent']),
    description: 'Log verbosity.',
  },
  {
    key: 'jobWorkers',
    env: 'JEPA_WORKERS',
    flag: '--workers',
    default: '1',
    schema: int(0, 16),
    description:
      'Retrain processes `serve` runs job consumers in, at background priority, off the process that answers frames (0 = none: `jepa-motion worker` processes take the jobs; needs NATS_URL). `worker --concurrency` overrides it there.',
  },
  {
    key: 'jobHold',
    env: 'JEPA_JOB_HOLD',
    flag: '--job-hold',
    default: '16',
    schema: int(1, 1024),
    description: "Retrain jobs one process takes from the bus at once (waiting to coalesce with the same patient's, or training); the rest wait in the bus.",
  },
  {
    key: 'backgroundDutyPct',
    env: 'JEPA_BACKGROUND_DUTY',
    flag: '--background-duty',
    default: '25',
    schema: int(1, 100),
    description:
      'While live sessions run on this node: percent of the time its background jobs (retrain, task pack) may compute (100 = unpaced). Measured on a 2-core box with 20 live sessions: training unpaced moved their p99 1.52×, at 25 % 0.98× (bench:retrain-isolation).',
  },
  {
    key: 'taskpackRedeliverS',
    env: 'JEPA_TASKPACK_REDELIVER_S',
    flag: '--taskpack-redeliver-s',
    default: '30',
    schema: int(1, 3600),
    description:
      'With NATS: seconds after which a task-pack job whose process died is given to another worker; a running build tells the server every third of it that it is alive.',
  },
];

/** One row per setting: the README table and `--help` are generated from it. */
export const CONFIG_DOC: readonly {
  readonly name: string;
  readonly env: string;
  readonly flag: string | undefined;
  readonly default: string;
  readonly description: string;
}[] = SETTINGS.map((s) => ({ name: s.key, env: s.env, flag: s.flag, default: s.defaultDoc ?? s.default ?? 'unset', description: s.description }));

/** Markdown table of settings for README.md (the README must contain it verbatim). */
export function renderConfigTable(): string {
  const rows = CONFIG_DOC.map((d) => `| \`${d.env}\` | ${d.flag === undefined ? '—' : `\`${d.flag}\``} | ${d.default} | ${d.description} |`);
  return ['| env | flag | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Plain-text help for `--help`. */
export function renderHelp(): string {
  const lines = CONFIG_DOC.map((d) => `  ${(d.flag ?? '(env only)').padEnd(26)} ${d.env.padEnd(22)} ${d.description} Default: ${d.default}.`);
  return ['Options (flags win over environment variables):', ...lines].join('\n');
}

/** Whether argv asks for help (the CLI prints renderHelp() instead of loading the config). */
export const wantsHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

function closest(flag: string): string | undefined {
  const flags = SETTINGS.flatMap((s) => (s.flag === undefined ? [] : [s.flag]));
  const dist = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  return flags
    .map((f) => [f, dist(flag, f)] as const)
    .filter(([, d]) => d <= 2)
    .sort((a, b) => a[1] - b[1])[0]?.[0];
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const byFlag = new Map(SETTINGS.flatMap((s) => (s.flag === undefined ? [] : [[s.flag, s] as const])));
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(ConfigErrorCode.BAD_ARGUMENT, arg, `unexpected argument ${JSON.stringify(arg)}: options are --name value`);
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (!byFlag.has(flag)) {
      const hint = closest(flag);
      throw new ConfigError(ConfigErrorCode.UNKNOWN_FLAG, flag, `unknown option ${flag}${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
    }
    const value: string | undefined = eq < 0 ? argv[i + 1] : arg.slice(eq + 1);
    if (eq < 0) {
      if (value === undefined || value.startsWith('--')) throw new ConfigError(ConfigErrorCode.BAD_ARGUMENT, flag, `${flag} needs a value`);
      i++;
    }
    if (out.has(flag)) throw new ConfigError(ConfigErrorCode.BAD_ARGUMENT, flag, `${flag} given twice`);
    out.set(flag, value ?? '');
  }
  return out;
}

export interface LoadConfigDeps {
  /** Source of the generated dev secret (tests inject a fixed one). */
  readonly randomSecret?: () => string;
  /** `worker` serves no sockets, so it needs no token key. Default 'serve'. */
  readonly role?: 'serve' | 'worker';
}

/** Parses flags and env into a frozen Config; throws ConfigError with a precise message. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, deps: LoadConfigDeps = {}): Readonly<Config> {
  const flags = parseFlags(argv);
  const values = new Map<Setting['key'], unknown>();
  const label = new Map<Setting['key'], string>();
  const given = new Set<Setting['key']>();
  for (const s of SETTINGS) {
    const fromFlag = s.flag === undefined ? undefined : flags.get(s.flag);
    const fromEnv = env[s.env] === '' ? undefined : env[s.env];
    const raw = fromFlag ?? fromEnv ?? s.default;
    const where = fromFlag !== undefined ? `${s.flag} ${fromFlag}` : `${s.env}=${fromEnv ?? raw}`;
    label.set(s.key, fromFlag !== undefined ? s.flag! : s.env);
    if (fromFlag !== undefined || fromEnv !== undefined) given.add(s.key);
    if (raw === undefined) continue;
    const parsed = s.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = s.key === 'jwtSecret' ? `${s.env}` : where;
      throw new ConfigError(ConfigErrorCode.INVALID_VALUE, label.get(s.key)!, `${shown}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {
        cause: parsed.error,
      });
    }
    values.set(s.key, parsed.data);
  }
  const get = <T>(key: Setting['key']): T => values.get(key) as T;
  const contradiction = (setting: Setting['key'], message: string): never => {
    throw new ConfigError(ConfigErrorCode.CONTRADICTION, label.get(setting)!, message);
  };

  const natsUrl = get<string | undefined>('natsUrl');
  const secret = get<string | undefined>('jwtSecret');
  const publicKeyPath = get<string | undefined>('jwtPublicKey');
  if (secret !== undefined && publicKeyPath !== undefined) {
    contradiction('jwtPublicKey', `${label.get('jwtPublicKey')} and JEPA_JWT_SECRET both set: choose one`);
  }
  if (secret !== undefined && new TextEncoder().encode(secret).byteLength < MIN_JWT_SECRET_BYTES) {
    contradiction('jwtSecret', `JEPA_JWT_SECRET is ${new TextEncoder().encode(secret).byteLength} bytes: needs at least ${MIN_JWT_SECRET_BYTES}`);
  }
  const role = deps.role ?? 'serve';
  if (role === 'serve' && natsUrl !== undefined && secret === undefined && publicKeyPath === undefined) {
    contradiction(
      'natsUrl',
      `${label.get('natsUrl')} set (distributed mode) but neither JEPA_JWT_SECRET nor JEPA_JWT_PUBLIC_KEY: every node must verify the same tokens, a generated secret cannot be shared`,
    );
  }
  if (natsUrl === undefined && get<number>('jsReplicas') > 1) {
    contradiction('jsReplicas', `${label.get('jsReplicas')} ${get<number>('jsReplicas')} needs a NATS cluster, but ${label.get('natsUrl')} is not set`);
  }
  if (role === 'serve' && natsUrl === undefined && get<number>('jobWorkers') === 0) {
    contradiction(
      'jobWorkers',
      `${label.get('jobWorkers')} 0 without NATS_URL: the in-process bus lives in this process, so no other process could take its jobs (set NATS_URL and run \`jepa-motion worker\`, or keep at least 1)`,
    );
  }
  if (role === 'worker' && natsUrl === undefined) {
    contradiction(
      'natsUrl',
      'jepa-motion worker needs NATS_URL (or --nats): without NATS the jobs live inside the `serve` process, which runs its own retrain threads',
    );
  }
  if (get<number>('jobHold') < get<number>('jobWorkers')) {
    contradiction(
      'jobHold',
      `${label.get('jobHold')} ${get<number>('jobHold')} is below ${label.get('jobWorkers')} ${get<number>('jobWorkers')}: some threads could never get a job`,
    );
  }
  const fsync = get<FsyncMode>('fsync');
  if (given.has('fsyncIntervalMs') && fsync !== 'batch') {
    contradiction('fsyncIntervalMs', `${label.get('fsyncIntervalMs')} only applies to FSYNC=batch, but ${label.get('fsync')} is ${fsync}`);
  }
  if (get<number>('inferQueueLimit') < get<number>('inferMaxBatch')) {
    contradiction(
      'inferQueueLimit',
      `${label.get('inferQueueLimit')} ${get<number>('inferQueueLimit')} is below ${label.get('inferMaxBatch')} ${get<number>('inferMaxBatch')}: a full batch could never form`,
    );
  }
  if (get<number>('maxBackpressureBytes') < get<number>('maxPayloadBytes')) {
    contradiction(
      'maxBackpressureBytes',
      `${label.get('maxBackpressureBytes')} ${get<number>('maxBackpressureBytes')} is below ${label.get('maxPayloadBytes')} ${get<number>('maxPayloadBytes')}: one message would overflow the send buffer`,
    );
  }
  if (get<number>('maxMsgsPerS') < MIN_MSGS_PER_S) {
    contradiction(
      'maxMsgsPerS',
      `${label.get('maxMsgsPerS')} ${get<number>('maxMsgsPerS')} is below ${MIN_MSGS_PER_S}: an iPad streams 60 frames/s and would be rate limited`,
    );
  }

  const jwt: JwtConfig =
    publicKeyPath !== undefined
      ? Object.freeze({ kind: 'public-key' as const, publicKeyPath })
      : Object.freeze({
          kind: 'secret' as const,
          secret: secret ?? (deps.randomSecret ?? (() => randomBytes(32).toString('base64url')))(),
          generated: secret === undefined,
        });

  return Object.freeze({
    port: get<number>('port'),
    host: get<string>('host'),
    dataDir: get<string>('dataDir'),
    natsUrl,
    jsReplicas: get<number>('jsReplicas'),
    mode: natsUrl === undefined ? 'embedded' : 'distributed',
    jwt,
    backend: get<Backend>('backend'),
    modelDir: get<string>('modelDir'),
    inferMaxBatch: get<number>('inferMaxBatch'),
    inferMaxWaitMs: get<number>('inferMaxWaitMs'),
    inferWorkers: get<number>('inferWorkers'),
    inferQueueLimit: get<number>('inferQueueLimit'),
    inferUrl: get<string | undefined>('inferUrl'),
    inferTimeoutMs: get<number>('inferTimeoutMs'),
    inferMaxInflight: get<number>('inferMaxInflight'),
    mcPasses: get<number>('mcPasses'),
    horizons: Object.freeze([...get<number[]>('horizons')]),
    livePoses: get<boolean>('livePoses'),
    liveUpdateHz: get<number>('liveUpdateHz'),
    snapshotSeconds: get<number>('snapshotSeconds'),
    resumeWindowS: get<number>('resumeWindowS'),
    fsync,
    fsyncIntervalMs: get<number>('fsyncIntervalMs'),
    maxPayloadBytes: get<number>('maxPayloadBytes'),
    maxBackpressureBytes: get<number>('maxBackpressureBytes'),
    maxMsgsPerS: get<number>('maxMsgsPerS'),
    maxInvalidMsgs: get<number>('maxInvalidMsgs'),
    invalidMsgsWindowS: get<number>('invalidMsgsWindowS'),
    modelCache: get<number>('modelCache'),
    logLevel: get<LogLevel>('logLevel'),
    jobWorkers: get<number>('jobWorkers'),
    jobHold: get<number>('jobHold'),
    backgroundDutyPct: get<number>('backgroundDutyPct'),
    taskpackRedeliverS: get<number>('taskpackRedeliverS'),
  });
}
