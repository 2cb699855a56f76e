// The processes of the multi-node scenario, each a real child process on loopback: a NATS cluster
// (nats-server processes routed to each other, JetStream on every one, so replicas-3 streams survive
// one server's death) and jepa-motion processes (`serve` nodes, `worker`s) whose JSON log lines are
// kept so the scenario can wait for what they report (a model swapped, a job done).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
export const CLI = fileURLToPath(new URL('../bin/jepa-motion.mjs', import.meta.url));
/** Kept stderr per process (for the error when it dies), bounded. */
const MAX_STDERR = 8192;
/** Kept log lines per jepa-motion process; older ones are dropped (the scenario reads recent ones). */
const MAX_LOG_LINES = 20_000;

/** A free loopback TCP port (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

export interface NatsNode {
  readonly name: string;
  readonly url: string;
  readonly alive: boolean;
  /** SIGKILL: the server dies without a goodbye to its routes or clients. */
  kill(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every client URL, comma-separated (what NATS_URL gets). */
  readonly urls: string;
  stop(): Promise<void>;
}

/** `size` nats-servers routed into one cluster, each with JetStream and its own store under `dir`. */
export async function startNatsCluster(dir: string, size = 3): Promise<NatsCluster> {
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort() })));
  const procs: ChildProcess[] = [];
  const nodes: NatsNode[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const p = ports[i]!;
      const routes = ports.filter((_, j) => j !== i).map((o) => `nats://127.0.0.1:${o.cluster}`);
      const store = join(dir, `nats-${i}`);
      await mkdir(store, { recursive: true });
      const name = `jepa-nats-${i}`;
      const child = spawn(
        NATS_SERVER_BIN,
        [
          '-n',
          name,
          '-a',
          '127.0.0.1',
          '-p',
          String(p.client),
          '-js',
          '-sd',
          store,
          '--cluster_name',
          'jepa',
          '-cluster',
          `nats://127.0.0.1:${p.cluster}`,
          '--routes',
          routes.join(','),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.push(child);
      await waitForLine(child, /Server is ready/, `${name}`, 15_000);
      nodes.push({
        name,
        url: `nats://127.0.0.1:${p.client}`,
        get alive() {
          return child.exitCode === null && child.signalCode === null;
        },
        kill: () => terminate(child, 'SIGKILL'),
      });
    }
    const urls = nodes.map((n) => n.url).join(',');
    await waitForJetStream(urls, 30_000);
    return { nodes, urls, stop: async () => void (await Promise.all(procs.map((c) => terminate(c, 'SIGTERM')))) };
  } catch (error) {
    await Promise.all(procs.map((c) => terminate(c, 'SIGKILL')));
    throw error;
  }
}

/** Resolves once the cluster has elected a JetStream meta leader (account info answers). */
async function waitForJetStream(urls: string, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: urls.split(','), maxReconnectAttempts: -1 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo();
        return;
      } catch (cause) {
        if (Date.now() > deadline) throw new Error(`JetStream cluster not ready within ${timeoutMs} ms`, { cause });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await nc.close();
  }
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpExecArray> {
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what} not ready within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      log = (log + d.toString()).slice(-MAX_STDERR);
      const m = pattern.exec(log);
      if (m) done(undefined, m);
    };
    const onExit = (code: number | null): void => done(new Error(`${what} exited (${code}) before it was ready:\n${log}`));
    const done = (err?: Error, m?: RegExpExecArray): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.stderr?.resume(); // keep draining, or the child blocks on a full pipe
      if (err) reject(err);
      else resolve(m!);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** One JSON log line of a jepa-motion process, stamped with when the harness read it. */
export interface LogLine {
  readonly msg: string;
  readonly receivedAt?: number;
  readonly level?: string;
  readonly [field: string]: unknown;
}

export interface JepaProcess {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` for serve nodes, undefined for workers. */
  readonly url: string | undefined;
  readonly logs: readonly LogLine[];
  readonly alive: boolean;
  /** Resolves with the first log line (already seen or future) that matches, or rejects after `timeoutMs`. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
  /** SIGTERM (graceful: sessions finalised, jobs settled) or SIGKILL (a crash). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface JepaProcessOptions {
  readonly name: string;
  /** CLI arguments after `jepa-motion` (e.g. ['serve', '--port', '0', …]). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The stderr line that says the process is ready; its first group, if any, is the node's URL. */
  readonly ready: RegExp;
  readonly readyTimeoutMs?: number;
}

/** Starts `jepa-motion <args>`; resolves when it reports ready on stderr. */
export async function startJepaProcess(o: JepaProcessOptions): Promise<JepaProcess> {
  const child = spawn(process.execPath, [CLI, ...o.args], { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let l: LogLine;
    try {
      l = { ...(JSON.parse(line) as LogLine), receivedAt: Date.now() };
    } catch {
      return; // not a log line
    }
    logs.push(l);
    if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
    for (const w of waiters) if (w.match(l)) w.resolve(l);
  });
  let url: string | undefined;
  try {
    const m = await waitForLine(child, o.ready, o.name, o.readyTimeoutMs ?? 120_000);
    url = m[1];
  } catch (error) {
    await terminate(child, 'SIGKILL');
    throw error;
  }
  return {
    name: o.name,
    pid: child.pid ?? -1,
    url,
    logs,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    waitForLog(match, timeoutMs, what) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            waiters.delete(w);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`${o.name}: no log line "${what}" within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    stop: (signal = 'SIGTERM') => terminate(child, signal),
  };
}
