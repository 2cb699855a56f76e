// HTTP: health, readiness, Prometheus metrics, the clinic-scoped JSON API and the dashboard page.
// Every /v1 route needs `Authorization: Bearer <token>`; a token sees only its own clinic (another
// clinic's session is "not found", not "forbidden": its existence is not revealed). Async handlers
// follow uWS's rules: headers copied before any await, onAborted tracked, writes corked.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import { encodeReplay, REPLAY_CONTENT_TYPE } from '../protocol/index.js';
import type { SessionView } from '../sessions/session-manager.js';
import type { SessionReplaySource } from '../sessions/session-replay.js';
import type { Principal } from '../sessions/types.js';
import { readStatic, type Mount } from './static-files.js';
import type { TransportAuth } from './types.js';

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>;
}

export interface HttpDeps {
  readonly auth: TransportAuth;
  readonly readiness: () => Readiness | Promise<Readiness>;
  readonly metrics: () => string;
  readonly sessions: { list(clinic: string): SessionView[]; get(id: string): SessionView | undefined };
  readonly models: { list(clinic: string): Promise<unknown[]> };
  readonly taskpacks: TaskpackApi;
  /** Finished sessions (this node's recordings, and every node's published ones) and their replay; absent = those routes answer 404. */
  readonly finished?: SessionReplaySource;
  readonly mounts: readonly Mount[];
  readonly onError: (code: string) => void;
}

/** Replays computed at once per node (each runs a whole recording through the pipeline); more get 503. */
export const MAX_CONCURRENT_REPLAYS = 2;

/** Stored task packs as the API serves them (src/taskpack/taskpack-service.ts; the catalog lists only). */
export interface TaskpackApi {
  list(clinic: string, patient?: string): Promise<unknown[]>;
  get(clinic: string, id: string): Promise<unknown | undefined>;
  /** report.html of a pack, undefined when there is none. */
  report?(clinic: string, id: string): Promise<string | undefined>;
  /** Answers a goal on a stored pack: { status, body } (400 bad goal, 404 no pack, 422 not plannable). */
  counterfactual?(clinic: string, id: string, goal: unknown): Promise<{ status: number; body: unknown }>;
  /** Loads a pack for counterfactual questions ahead of them; called, not awaited, when its report is served. */
  prepare?(clinic: string, id: string): Promise<unknown>;
}

/** Largest counterfactual request body; a goal is a few dozen bytes. */
export const MAX_GOAL_BYTES = 4096;

type Reply = { status: number; body: string | Buffer; contentType: string; headers?: Record<string, string> };

const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value), contentType: 'application/json; charset=utf-8' });
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Runs an async handler the uWS way and writes its reply unless the client aborted. */
function serve(res: HttpResponse, produce: () => Promise<Reply>, onError: (code: string) => void): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  void produce()
    .catch((cause: unknown): Reply => {
      onError('INTERNAL');
      return json(500, { code: 'INTERNAL', message: cause instanceof Error ? cause.message : String(cause) });
    })
    .then((r) => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(`${r.status} ${STATUS_TEXT[r.status] ?? ''}`).writeHeader('content-type', r.contentType);
        for (const [k, v] of Object.entries(r.headers ?? {})) res.writeHeader(k, v);
        res.end(r.body);
      });
    });
}

function bearer(header: string): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m?.[1];
}

export function httpRoutes(app: TemplatedApp, deps: HttpDeps): void {
  /** A clinic-scoped API route: authenticates, then calls `handle` with the principal. */
  const api = (pattern: string, handle: (p: Principal, params: string[], query: URLSearchParams) => Promise<Reply>) => {
    app.get(pattern, (res: HttpResponse, req: HttpRequest) => {
      const token = bearer(req.getHeader('authorization'));
      const params = [req.getParameter(0) ?? ''];
      const query = new URLSearchParams(req.getQuery() ?? '');
      serve(
        res,
        async () => {
          const auth = await deps.auth.verify(token);
          if (!auth.ok) {
            deps.onError(auth.code);
            return { ...json(401, { code: auth.code, message: auth.message }), headers: { 'www-authenticate': 'Bearer' } };
          }
          return handle(auth.principal, params, query);
        },
        deps.onError,
      );
    });
  };
  /** A clinic-scoped POST route with a JSON body of at most `maxBytes` (413 beyond; 400 if not JSON). */
  const postApi = (pattern: string, maxBytes: number, handle: (p: Principal, params: string[], body: unknown) => Promise<Reply>) => {
    app.post(pattern, (res: HttpResponse, req: HttpRequest) => {
      const token = bearer(req.getHeader('authorization'));
      const params = [req.getParameter(0) ?? ''];
      const chunks: Buffer[] = [];
      let size = 0;
      let tooBig = false;
      const body = new Promise<Buffer | null>((resolve) => {
        res.onData((chunk, last) => {
          size += chunk.byteLength;
          if (size > maxBytes) tooBig = true;
          // uWS reuses the chunk's memory after this callback: copy it.
          else chunks.push(Buffer.from(new Uint8Array(chunk)));
          if (last) resolve(tooBig ? null : Buffer.concat(chunks));
        });
      });
      serve(
        res,
        async () => {
          const raw = await body;
          const auth = await deps.auth.verify(token);
          if (!auth.ok) {
            deps.onError(auth.code);
            return { ...json(401, { code: auth.code, message: auth.message }), headers: { 'www-authenticate': 'Bearer' } };
          }
          if (raw === null) return json(413, { code: 'PAYLOAD_TOO_LARGE', message: `body over ${maxBytes} bytes` });
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw.toString('utf8'));
          } catch {
            return json(400, { code: 'BAD_JSON', message: 'body is not JSON' });
          }
          return handle(auth.principal, params, parsed);
        },
        deps.onError,
      );
    });
  };
  const staff = (p: Principal) => p.role === 'therapist' || p.role === 'admin';
  const forbidden = () => json(403, { code: 'FORBIDDEN', message: 'devices cannot read the clinic API' });

  app.get('/healthz', (res: HttpResponse) => {
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end('{"status":"ok"}');
    });
  });
  app.get('/readyz', (res: HttpResponse) => {
    serve(
      res,
      async () => {
        const r = await deps.readiness();
        return json(r.ready ? 200 : 503, r);
      },
      deps.onError,
    );
  });
  app.get('/metrics', (res: HttpResponse) => {
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('content-type', PROMETHEUS_CONTENT_TYPE).end(deps.metrics());
    });
  });

  api('/v1/sessions', async (p) => (staff(p) ? json(200, { sessions: deps.sessions.list(p.clinic) }) : forbidden()));
  api('/v1/sessions/:id', async (p, [id]) => {
    if (!staff(p)) return forbidden();
    const s = deps.sessions.get(id ?? '');
    return s && s.clinic === p.clinic ? json(200, s) : json(404, { code: 'SESSION_NOT_FOUND', message: `no session ${id}` });
  });
  let replaying = 0;
  api('/v1/sessions/:id/replay', async (p, [id]) => {
    if (!staff(p)) return forbidden();
    const notFound = json(404, { code: 'SESSION_NOT_FOUND', message: `no finished session ${id} in clinic ${p.clinic}` });
    if (!deps.finished) return notFound;
    if (replaying >= MAX_CONCURRENT_REPLAYS)
      return json(503, { code: 'BUSY', message: `${MAX_CONCURRENT_REPLAYS} replays are being computed; try again shortly` });
    replaying += 1;
    try {
      const r = await deps.finished.replay(p.clinic, id ?? '');
      if (!r) return notFound;
      const bytes = encodeReplay(r);
      return { status: 200, body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType: REPLAY_CONTENT_TYPE };
    } finally {
      replaying -= 1;
    }
  });
  api('/v1/recordings', async (p, _params, query) => {
    if (!staff(p)) return forbidden();
    const patient = query.get('patient') ?? undefined;
    return json(200, { sessions: deps.finished ? await deps.finished.list(p.clinic, patient) : [] });
  });
  api('/v1/models', async (p) => (staff(p) ? json(200, { models: await deps.models.list(p.clinic) }) : forbidden()));
  // Task packs: therapists and admins of the pack's clinic only (the key is clinic-scoped, so another
  // clinic's pack is "not found").
  api('/v1/taskpacks', async (p, _params, q) =>
    staff(p) ? json(200, { taskpacks: await deps.taskpacks.list(p.clinic, q.get('patient') ?? undefined) }) : forbidden(),
  );
  api('/v1/taskpacks/:id/report', async (p, [id]) => {
    if (!staff(p)) return forbidden();
    const html = await deps.taskpacks.report?.(p.clinic, id ?? '');
    if (html === undefined) return json(404, { code: 'NOT_FOUND', message: `no task pack report ${id}` });
    // A therapist reading the report is who asks a counterfactual next: the pack is loaded for it now,
    // without delaying or failing this reply. Only here, not on GET /v1/taskpacks/:id, which the
    // dashboard calls for several packs per refresh just to learn their sessions.
    try {
      void deps.taskpacks.prepare?.(p.clinic, id ?? '').catch(() => undefined);
    } catch {
      // a preparation never changes the report's answer
    }
    return { status: 200, body: html, contentType: 'text/html; charset=utf-8' };
  });
  postApi('/v1/taskpacks/:id/counterfactual', MAX_GOAL_BYTES, async (p, [id], body) => {
    if (!staff(p)) return forbidden();
    if (!deps.taskpacks.counterfactual) return json(404, { code: 'NOT_FOUND', message: 'counterfactuals are not served here' });
    const r = await deps.taskpacks.counterfactual(p.clinic, id ?? '', body);
    return json(r.status, r.body);
  });
  api('/v1/taskpacks/:id', async (p, [id]) => {
    if (!staff(p)) return forbidden();
    const tp = await deps.taskpacks.get(p.clinic, id ?? '');
    return tp === undefined ? json(404, { code: 'NOT_FOUND', message: `no task pack ${id}` }) : json(200, tp);
  });
  app.any('/v1/*', (res: HttpResponse) => {
    res.cork(() => {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end('{"code":"NOT_FOUND","message":"no such route"}');
    });
  });

  app.get('/*', (res: HttpResponse, req: HttpRequest) => {
    const url = req.getUrl();
    serve(
      res,
      async () => {
        const r = await readStatic(deps.mounts, url);
        return r.status === 200
          ? { status: 200, body: r.body, contentType: r.contentType, headers: { 'cache-control': 'no-cache' } }
          : json(r.status, { code: 'NOT_FOUND', message: `no file ${url}` });
      },
      deps.onError,
    );
  });
}
