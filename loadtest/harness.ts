// Node load harness (CI and benchmarks): the same scenario as loadtest/k6/ingest.js.
//   npx tsx loadtest/harness.ts --url ws://127.0.0.1:8080 --sessions 20 --duration 30 [--ramp 5]
//     [--recording path] [--token T | JEPA_TOKEN] [--patients 8] [--json]
// Exit 1 when any frame got no feedback or no ack.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { readRecording } from '../streams/adapters/read-recording.js';
import { reportOk } from '../clients/simulator/simulate.js';
import type { WebSocketConstructor } from '../clients/sdk/index.js';
import { runScenario } from './scenario.js';

export const DEFAULT_RECORDING = new URL('../../shared/data/motion/opensim-gait/subject01_walk1.trc', import.meta.url).pathname;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      sessions: { type: 'string', default: '10' },
      duration: { type: 'string', default: '30' },
      ramp: { type: 'string', default: '5' },
      fps: { type: 'string', default: '60' },
      recording: { type: 'string', default: DEFAULT_RECORDING },
      token: { type: 'string' },
      patients: { type: 'string', default: '8' },
      json: { type: 'boolean', default: false },
    },
  });
  const token = values.token ?? process.env.JEPA_TOKEN;
  if (!values.url || !token) {
    process.stderr.write('usage: tsx loadtest/harness.ts --url ws://host:port [--sessions N] [--duration S] [--ramp S] [--token T|JEPA_TOKEN] [--json]\n');
    return 2;
  }
  const num = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!(n > 0)) throw new RangeError(`--${name} must be > 0, got ${v}`);
    return n;
  };
  const report = await runScenario({
    url: values.url,
    token,
    sessions: Math.round(num('sessions', values.sessions)),
    durationS: num('duration', values.duration),
    rampS: Number(values.ramp ?? 0),
    fps: num('fps', values.fps),
    recording: await readRecording(values.recording ?? DEFAULT_RECORDING),
    patients: Array.from({ length: Math.round(num('patients', values.patients)) }, (_, i) => `load-p${i}`),
    WebSocket: WebSocket as WebSocketConstructor,
  });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  return reportOk(report) ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`harness: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
