// `jepa-motion worker`: job consumers only, for distributed mode. Any number of these, on any node,
// share the JetStream work queue with each other (and with `serve` nodes that run retrain threads);
// each job goes to one of them. A worker needs NATS (jobs, KV registry, object store) and the base
// model; it opens no sockets and needs no token key.
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig, renderHelp, wantsHelp, type Config } from '../config.js';
import { JobError, JobErrorCode } from '../jobs/errors.js';
import { createNatsJobBus } from '../jobs/nats-job-bus.js';
import { createNatsNoticeBus } from '../jobs/notices.js';
import { Outbox } from '../jobs/outbox.js';
import { createJsonLogger, type Logger } from '../logger.js';
import { NatsArtifactStore } from '../storage/nats-artifact-store.js';
import { NatsModelRegistry } from '../storage/nats-model-registry.js';
import { UsageError, type CliIo } from './io.js';
import { JOB_KINDS, startJobConsumers, type JobKind } from './job-consumers.js';

export const workerUsage = `jepa-motion worker [--jobs ${JOB_KINDS.join(',')}] [--concurrency N] --nats nats://… [--model DIR] [--data DIR] […]`;

/** Most retrain processes one worker process runs (each holds a tfjs runtime and a copy of the base). */
export const MAX_CONCURRENCY = 16;

export interface WorkerArgs {
  readonly kinds: readonly JobKind[];
  /** Retrain threads; undefined = JEPA_WORKERS. */
  readonly concurrency: number | undefined;
  /** Everything else: configuration flags (src/config.ts). */
  readonly rest: string[];
}

export function parseWorkerArgs(args: readonly string[]): WorkerArgs {
  let kinds: JobKind[] = [...JOB_KINDS];
  let concurrency: number | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--jobs' && flag !== '--concurrency') {
      rest.push(arg);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    if (flag === '--jobs') {
      const names = value.split(',').map((s) => s.trim());
      const unknown = names.filter((n) => !(JOB_KINDS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0)
        throw new UsageError(`--jobs ${value}: unknown job kind ${unknown.join(', ') || '(none)'} (known: ${JOB_KINDS.join(', ')})`);
      kinds = [...new Set(names)] as JobKind[];
    } else {
      const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) throw new UsageError(`--concurrency ${value}: must be an integer from 1 to ${MAX_CONCURRENCY}`);
      concurrency = n;
    }
  }
  return { kinds, concurrency, rest };
}

export interface WorkerHandle {
  readonly kinds: readonly JobKind[];
  readonly threads: number;
  close(): Promise<void>;
}

/** Connects to NATS and starts the consumers; `close()` stops them (running jobs finish) and disconnects. */
export async function startWorker(config: Readonly<Config>, a: Pick<WorkerArgs, 'kinds' | 'concurrency'>, logger: Logger): Promise<WorkerHandle> {
  if (!config.natsUrl) throw new UsageError('jepa-motion worker needs NATS_URL (or --nats)');
  const threads = a.concurrency ?? config.jobWorkers;
  if (threads < 1) throw new UsageError(`a worker needs at least one retrain process (--concurrency or JEPA_WORKERS), got ${threads}`);
  const closers: (() => Promise<unknown>)[] = [];
  let closing: Promise<void> | undefined;
  // Idempotent: a second close waits for the first.
  const closeAll = (): Promise<void> =>
    (closing ??= (async () => {
      for (const close of closers.reverse()) await close().catch((cause: unknown) => logger.error('shutdown step failed', { cause }));
    })());
  try {
    const nc: NatsConnection = await connect({ servers: config.natsUrl.split(','), name: 'jepa-motion-worker', maxReconnectAttempts: -1 }).catch(
      (cause: unknown) => {
        throw new JobError(JobErrorCode.NATS, `cannot connect to NATS at ${config.natsUrl}: ${(cause as Error).message}`, { cause });
      },
    );
    closers.push(() => nc.drain());
    const bus = await createNatsJobBus({ nc, outbox: await Outbox.open(join(config.dataDir, 'outbox')), logger, replicas: config.jsReplicas });
    closers.push(() => bus.close());
    const notices = await createNatsNoticeBus({ nc, logger, replicas: config.jsReplicas });
    closers.push(() => notices.close());
    const registry = await NatsModelRegistry.open(nc, { logger, replicas: config.jsReplicas });
    const artifacts = await NatsArtifactStore.open(nc, { replicas: config.jsReplicas });
    const consumers = await startJobConsumers(config, { bus, registry, artifacts, notices, logger }, { kinds: a.kinds, threads });
    closers.push(() => consumers.stop());
    return { kinds: a.kinds, threads, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Runs until SIGINT/SIGTERM; running jobs finish (or are redelivered elsewhere after ack_wait). */
export async function workerCommand(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.out(
      `usage: ${workerUsage}\n  --jobs KINDS         job kinds to consume (default: all: ${JOB_KINDS.join(',')})\n  --concurrency N      retrain processes (default JEPA_WORKERS)\n${renderHelp()}\n`,
    );
    return 0;
  }
  const a = parseWorkerArgs(args);
  const config = loadConfig(a.rest, io.env, { role: 'worker' });
  const logger = createJsonLogger(process.stdout, { level: config.logLevel === 'silent' ? 'error' : config.logLevel, base: { service: 'jepa-motion-worker' } });
  const handle = await startWorker(config, a, logger);
  io.err(`jepa-motion worker: consuming ${handle.kinds.join(', ')} on ${handle.threads} retrain process(es) from ${config.natsUrl}\n`);
  await new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      io.err(`jepa-motion worker: ${signal}: finishing running jobs\n`);
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await handle.close();
  return 0;
}
