// `npm run loadtest:cluster`: the multi-node, multi-clinic scenario (loadtest/cluster-scenario.ts) with
// real processes: 3 clustered nats-servers (JetStream replicas 3), two `serve` nodes, one `worker`.
//   npm run loadtest:cluster -- [--sessions 3] [--duration 20] [--fault-at 8] [--job-timeout 600] [--json]
// --sessions is per clinic and phase (2 clinics × 2 phases). Exit 0 only when every check passed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readRecording } from '../streams/adapters/read-recording.js';
import { runClusterScenario, type ClusterReport } from './cluster-scenario.js';

/** Treadmill walking (Fukuchi et al. 2018): long enough that a session does not loop the recording. */
export const CLUSTER_RECORDING = new URL('../../shared/data/motion/fukuchi-treadmill/fukuchi_WBDS19walkT01.c3d', import.meta.url).pathname;

function table(r: ClusterReport): string {
  const rows: [string, string][] = [
    ['NATS', `${r.nats.servers} servers, replicas ${r.nats.replicas}; killed ${r.nats.killed}`],
    ['processes', `${r.processes.serveNodes} serve + ${r.processes.workers} worker; killed ${r.processes.killed}, restarted in ${r.processes.restartS} s`],
    [
      'sessions',
      `${r.sessions.total} (${Object.entries(r.sessions.perClinic)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}); ended ${r.sessions.ended}, cut by the crash ${r.sessions.interrupted}`,
    ],
    ['frames', `sent ${r.frames.sent}, acked ${r.frames.acked}, in published recordings ${r.frames.recorded}, acked but lost ${r.frames.lostAcked}`],
    [
      'jobs',
      `${r.jobs.completed}/${r.jobs.total} completed (registered ${r.jobs.registered}, rejected by the gate ${r.jobs.rejected}), run twice ${r.jobs.duplicated}`,
    ],
    ['end → model live on both nodes', `p50 ${r.modelLive.p50S} s, max ${r.modelLive.maxS} s (${r.modelLive.samples} models)`],
    [
      'dashboards (node B)',
      `${Object.entries(r.dashboards.updates)
        .map(([c, n]) => `${c} ${n} msgs`)
        .join(', ')}; other clinic's ${r.dashboards.crossClinic}; foreign subscribe → ${r.dashboards.foreignSubscribe}`,
    ],
    ['result', `${r.ok ? 'PASS' : 'FAIL'} in ${r.seconds} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '3' },
      duration: { type: 'string', default: '20' },
      'fault-at': { type: 'string', default: '8' },
      'job-timeout': { type: 'string', default: '600' },
      horizons: { type: 'string' },
      recording: { type: 'string', default: CLUSTER_RECORDING },
      json: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (!(n > 0)) throw new RangeError(`--${name} must be > 0, got ${v}`);
    return n;
  };
  const dir = await mkdtemp(join(tmpdir(), 'jepa-cluster-'));
  try {
    const report = await runClusterScenario({
      dir,
      recording: await readRecording(values.recording ?? CLUSTER_RECORDING, { fps: 60 }),
      sessionsPerClinic: Math.round(num('sessions', values.sessions)),
      durationS: num('duration', values.duration),
      faultAtS: num('fault-at', values['fault-at']),
      jobTimeoutS: num('job-timeout', values['job-timeout']),
      ...(values.horizons ? { horizons: values.horizons.split(',').map((h) => num('horizons', h)) } : {}),
      fps: 60,
      progress: (line) => process.stderr.write(`cluster: ${line}\n`),
    });
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : table(report));
    return report.ok ? 0 : 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`cluster: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
