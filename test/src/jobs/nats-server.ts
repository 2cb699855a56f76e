// A private nats-server (JetStream, temp store dir) per test file, so tests can stop and restart
// it to exercise the outbox without touching the shared server on :4222.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER_BIN = '/usr/sbin/nats-server';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  /** SIGTERM and wait for exit (the store dir is kept). */
  stop(): Promise<void>;
  /** Start again on the same port with the same store dir. */
  restart(): Promise<void>;
  /** Stop and delete the store dir. */
  dispose(): Promise<void>;
}

function launch(port: number, storeDir: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    let bound = port;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`nats-server not ready in 10 s:\n${log}`));
    }, 10_000);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}):\n${log}`));
    });
    proc.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /Listening for client connections on [\d.]+:(\d+)/.exec(log);
      if (m) bound = Number(m[1]);
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        proc.stderr?.removeAllListeners('data');
        proc.stderr?.resume();
        proc.removeAllListeners('exit');
        resolve({ proc, port: bound });
      }
    });
  });
}

export async function startNatsServer(): Promise<NatsServerHandle> {
  const storeDir = await mkdtemp(join(tmpdir(), 'nats-js-'));
  const first = await launch(-1, storeDir);
  const port = first.port;
  let proc = first.proc;
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    await exited;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    restart: async () => {
      await stop();
      ({ proc } = await launch(port, storeDir));
    },
    dispose: async () => {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
