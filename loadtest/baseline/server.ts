// The baseline for bench:server — the server "built the obvious way": the `ws` package, and for every
// frame one MC-dropout inference call (models/mc-dropout mcPredict, 10 passes) on the main thread with
// that patient's model. It speaks the same protocol v1 and runs the same stream pipeline and
// validation as the real server, so the comparison isolates transport + batching + workers. Frames are
// appended to a per-session file (fs.appendFile per frame) and acked when the write resolves.
// Prints {"port": N} when listening; SIGTERM exits.
//   node --import tsx loadtest/baseline/server.ts <checkpoint-dir> <data-dir>   (JEPA_JWT_SECRET in env)
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Subject, map } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { mergeAdapter } from '../../models/adapters.js';
import { selectBackend } from '../../models/backend.js';
import { loadCheckpoint } from '../../models/checkpoint.js';
import { normalizeRows } from '../../models/dataset.js';
import { mcPredict } from '../../models/mc-dropout.js';
import { WorldModel } from '../../models/world-model.js';
import { hmacKeyConfig, tokenFromUpgrade, verifyToken } from '../../src/auth/index.js';
import {
  decodeClientMessage,
  encodeServerMessage,
  FrameValidator,
  SUBPROTOCOL,
  type Frame,
  type Hello,
  type IngestServerMessage,
} from '../../src/protocol/index.js';
import { liveStages, toPipelineState } from '../../src/sessions/live-pipeline.js';
import type { PipelineState } from '../../src/sessions/types.js';
import { adapt } from '../../streams/adapt.js';
import type { PlaneAnchor } from '../../streams/types.js';
import { readCheckpointSet } from '../servers/checkpoints.js';

const HORIZONS = [1, 5, 10, 30];
const PASSES = 10;

const [ckDir, dataDir] = process.argv.slice(2);
const secret = process.env.JEPA_JWT_SECRET;
if (!ckDir || !dataDir || !secret) throw new Error('usage: JEPA_JWT_SECRET=… baseline/server.ts <checkpoint-dir> <data-dir>');
const key = hmacKeyConfig(secret);
const set = await readCheckpointSet(ckDir);
const backend = await selectBackend('wasm');
const base = await loadCheckpoint(set.baseDir);
if (base.kind !== 'base') throw new Error('base checkpoint expected');
const models = new Map<string, WorldModel>();

async function modelFor(patientId: string): Promise<WorldModel> {
  let m = models.get(patientId);
  if (m) return m;
  const dir = set.patients[patientId];
  const weights = base.kind === 'base' ? base.weights : undefined;
  if (!weights) throw new Error('unreachable');
  if (dir) {
    const ck = await loadCheckpoint(dir);
    m = new WorldModel(base.modelConfig, ck.kind === 'patient' ? mergeAdapter(weights, ck.adapter) : weights);
  } else {
    m = new WorldModel(base.modelConfig, weights);
  }
  models.set(patientId, m);
  return m;
}

let nextSession = 0;
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  path: '/v1/ingest',
  maxPayload: 65536,
  handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  verifyClient: (info, done) => {
    const { token } = tokenFromUpgrade({ protocol: String(info.req.headers['sec-websocket-protocol'] ?? ''), query: info.req.url?.split('?')[1] ?? '' });
    const r = verifyToken(token, key, Date.now());
    done(r.ok, 401);
  },
});

interface BaselineSession {
  readonly id: string;
  readonly file: string;
  readonly validator: FrameValidator;
  readonly frames$: Subject<Frame>;
  readonly planes$: Subject<readonly PlaneAnchor[]>;
  frames: number;
  current: Frame | undefined;
  writes: Promise<void>;
}

wss.on('connection', (ws: WebSocket) => {
  const send = (m: IngestServerMessage) => ws.send(encodeServerMessage(m));
  let session: BaselineSession | undefined;
  let opening = false;

  const open = async (hello: Hello) => {
    const model = await modelFor(hello.patientId);
    const id = `base-${process.pid}-${nextSession++}`;
    const s: BaselineSession = {
      id,
      file: join(dataDir ?? '.', `${id}.msgpack`),
      validator: new FrameValidator(),
      frames$: new Subject(),
      planes$: new Subject(),
      frames: 0,
      current: undefined,
      writes: Promise.resolve(),
    };
    // The stages as the RxJS operator chain (the naive way; the server runs them as one synchronous step).
    s.frames$
      .pipe(
        liveStages(() => adapt(), { assessment: hello.assessment, fps: hello.fps, env: s.planes$ }),
        map(toPipelineState),
      )
      .subscribe((state: PipelineState) => {
        const f = s.current;
        if (!f) return;
        // The obvious way: one inference call per frame, on the event loop.
        const out = mcPredict(model, normalizeRows(state.features, base.normalization), { horizons: HORIZONS, passes: PASSES });
        send({
          type: 'feedback',
          seq: f.seq,
          t: f.t,
          phase: state.phase,
          contacts: state.contacts,
          metrics: Object.fromEntries(Object.entries(state.metrics).filter(([, v]) => Number.isFinite(v))),
          uncertainty: out.frameUncertainty[0] ?? 0,
          surprise: null,
          predictions: HORIZONS.map((h) => ({ h })),
        });
      });
    session = s;
    send({ type: 'ready', sessionId: id, model: { id: 'bench-base', kind: 'pretrained', version: '1' }, horizons: HORIZONS });
  };

  ws.on('message', (data: Buffer) => {
    const r = decodeClientMessage(new Uint8Array(data), 'ingest');
    if (!r.ok) return send({ type: 'error', ...r.error });
    const msg = r.message;
    if (msg.type === 'hello') {
      if (session || opening) return send({ type: 'error', code: 'ALREADY_STARTED', message: 'session already started' });
      opening = true;
      open(msg).catch(() => ws.close(4012));
      return;
    }
    const s = session;
    if (!s) return send({ type: 'error', code: 'HELLO_REQUIRED', message: 'hello first' });
    if (msg.type === 'env') return s.planes$.next(msg.planes);
    if (msg.type === 'end') {
      void s.writes.then(() => {
        send({ type: 'ended', sessionId: s.id, frames: s.frames, jobId: `job-${s.id}` });
        ws.close(1000);
      });
      return;
    }
    const v = s.validator.check(msg);
    if (!v.ok) return send({ type: 'error', ...v.error });
    s.frames++;
    const seq = msg.seq;
    s.writes = s.writes.then(() => appendFile(s.file, data)).then(() => send({ type: 'ack', seq }));
    s.current = msg;
    s.frames$.next(msg);
  });
});

wss.on('listening', () => {
  const addr = wss.address();
  process.stdout.write(`${JSON.stringify({ port: addr !== null && typeof addr === 'object' ? addr.port : 0, backend })}\n`);
});
process.once('SIGTERM', () => {
  wss.close();
  for (const m of models.values()) m.dispose();
  process.exit(0);
});
