// The therapist dashboard in a real browser (Debian Chromium via playwright-core) against two real
// server nodes sharing a private nats-server (test/e2e/dashboard-nodes.ts). Sessions are real
// recordings replayed by the simulator into node A; the dashboard is served by node B, so everything
// it lists comes over the bus. What the page drew is read from its own drawn state
// (window.__jepaDash) and from canvas pixels; screenshots go to test-artifacts/.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecordings, simulate, type SimulationReport } from '../../clients/simulator/simulate.js';
import { cuttableProxy, token } from '../clients/fixture.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { ARTIFACTS, CHROMIUM, hasChromium, HORIZONS, startDashboardNodes, type DashboardNodes } from './dashboard-nodes.js';

if (!hasChromium && process.env.CI !== 'true') process.stderr.write(`[e2e] ${CHROMIUM} not found: dashboard e2e skipped (npm test installs it as root)\n`);

interface DrawnView {
  sessionId: string;
  patientId: string;
  blank?: string;
  skeleton?: { sessionId: string; seq: number; ghostH?: number | null; ghostJoints: number };
  plots?: { sessionId: string; lengths: Record<string, number>; flagged: number };
  horizon: string;
  refused: number;
}
interface Dash {
  connects: number;
  connection: string;
  route: { kind: string; id?: string };
  view?: DrawnView;
  liveSessions: { sessionId: string; patientId?: string; updates: number }[];
  replayStates: number;
}
const dash = (page: Page): Promise<Dash> => page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __jepaDash: unknown }).__jepaDash)) as Dash);

async function until(page: Page, what: string, check: (d: Dash) => boolean, ms = 20_000): Promise<Dash> {
  const end = Date.now() + ms;
  let lastView: DrawnView | undefined; // a view that closed (session ended) is reported as it last was
  for (;;) {
    const d = await dash(page);
    if (check(d)) return d;
    lastView = d.view ?? lastView;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify({ ...d, liveSessions: d.liveSessions.slice(0, 5), lastView })}`);
    await page.waitForTimeout(50); // polling the page's state (no assertion depends on this delay)
  }
}

function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !/WebSocket connection|ERR_CONNECTION|404|net::/.test(m.text()) && errors.push(m.text()));
  return errors;
}

/** Pixels of the ghost's violet (#7c3aed at 45 % over white) on a canvas. */
const ghostPixels = (page: Page, id: string) =>
  page.evaluate((canvasId) => {
    const c = document.getElementById(canvasId) as HTMLCanvasElement;
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r = 0, g = 0, b = 0, a = 0] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
      if (a > 0 && b > 180 && r > g + 15 && r > 110) n++;
    }
    return n;
  }, id);

/** Drawn pixels above the floor strip of a skeleton canvas (the body, not the floor line). */
const bodyPixels = (page: Page, id: string) =>
  page.evaluate((canvasId) => {
    const c = document.getElementById(canvasId) as HTMLCanvasElement;
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, Math.floor(c.height * 0.8)).data ?? new Uint8ClampedArray();
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if ((d[i] ?? 0) > 0) n++;
    return n;
  }, id);

const ALPHA = 'patient-alpha';
const BRAVO = 'patient-bravo';

describe.skipIf((!hasChromium && process.env.CI !== 'true') || !hasMotionData)('therapist dashboard (real browser, two nodes)', () => {
  let n: DashboardNodes;
  let walk: Awaited<ReturnType<typeof loadRecordings>>;
  let longWalk: Awaited<ReturnType<typeof loadRecordings>>;
  const c1Therapist = () => token({ clinic: 'c1', role: 'therapist' });
  const replay = (patient: string, recs: typeof walk, speed: number, clinic = 'c1'): Promise<SimulationReport> =>
    simulate({
      url: n.a.ws,
      token: token({ clinic, role: 'device', patient }),
      recordings: recs,
      sessions: 1,
      speed,
      patientId: patient,
      rampMs: 0,
      WebSocket,
    });
  const sessionOf = async (page: Page, patient: string): Promise<string> =>
    (await until(page, `a live session of ${patient}`, (d) => d.liveSessions.some((s) => s.patientId === patient))).liveSessions.find(
      (s) => s.patientId === patient,
    )!.sessionId;

  beforeAll(async () => {
    n = await startDashboardNodes();
    walk = await loadRecordings([motion('opensim-gait', 'subject01_walk1.trc')]);
    longWalk = await loadRecordings([motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d')]);
  }, 120_000);
  afterAll(async () => {
    await n?.close();
  });

  it('refuses a forged token with an auth error and shows nothing', async () => {
    const page = await n.browser.newPage();
    await page.goto(`${n.b.http}/?token=not.a.jwt`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'auth-error', undefined, { timeout: 10_000 });
    expect(await page.isVisible('#token-form')).toBe(true);
    expect((await dash(page)).view).toBeUndefined();
    await page.close();
  });

  it('lists a session ingested on the other node; the session view draws skeleton, ghost, plots and flagged moments', async () => {
    const page = await n.browser.newPage();
    const errors = pageErrors(page);
    await page.goto(`${n.b.http}/?token=${c1Therapist()}`);
    await until(page, 'connected', (d) => d.connection === 'open');
    expect(await page.evaluate(() => new URL(window.location.href).searchParams.has('token'))).toBe(false);

    // Quarter speed: 48 s of session, so a loaded CI box (the whole suite runs beside it) still draws
    // the plots and a flagged moment before `end`; at half speed one CI run saw the session end first.
    const running = replay(BRAVO, longWalk, 0.25);
    const id = await sessionOf(page, BRAVO);
    const row = page.locator(`#live-sessions tr[data-session-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('gait');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-clinic.png') });

    await row.locator('a.open').click();
    const d = await until(
      page,
      'plots and ghost drawn',
      (x) => (x.view?.plots?.lengths['knee'] ?? 0) > 60 && x.view?.skeleton?.ghostJoints !== undefined && (x.view?.plots?.flagged ?? 0) > 0,
      45_000,
    );
    const v = d.view!;
    expect(v).toMatchObject({ sessionId: id, patientId: BRAVO, refused: 0 });
    expect(v.skeleton?.sessionId).toBe(id);
    expect(v.skeleton?.ghostJoints).toBeGreaterThan(10); // bones of the predicted pose were drawn
    expect([null, HORIZONS[0]]).toContain(v.skeleton?.ghostH);
    for (const p of ['knee', 'hip', 'com', 'model']) expect(v.plots?.lengths[p]).toBeGreaterThan(60);
    expect(await ghostPixels(page, 'sagittal')).toBeGreaterThan(200);
    expect(await ghostPixels(page, 'frontal')).toBeGreaterThan(100);
    for (const c of ['sagittal', 'frontal']) expect(await bodyPixels(page, c)).toBeGreaterThan(800);
    expect(await page.textContent('#hdr-patient')).toBe(BRAVO);
    expect(await page.textContent('#hdr-session')).toBe(id);
    expect(await page.locator('#metrics tr[data-metric]').count()).toBeGreaterThan(0);
    // "no ghost" really removes it
    await page.selectOption('#horizon', 'none');
    await until(page, 'ghost gone', (x) => x.view?.skeleton !== undefined && x.view.skeleton.ghostJoints === 0);
    expect(await ghostPixels(page, 'sagittal')).toBe(0);
    await page.selectOption('#horizon', { index: 1 });
    await until(page, 'ghost back', (x) => (x.view?.skeleton?.ghostJoints ?? 0) > 10);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-session.png'), fullPage: true });
    // An iPad held upright: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 820, height: 1180 });
    await until(page, 'plots redrawn narrower', (x) => (x.view?.plots?.lengths['knee'] ?? 0) > 0);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('.uplot')!.getBoundingClientRect().width <= 820, undefined, { timeout: 10_000 });
    const wide = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('body *'))
        .filter((e) => e.getBoundingClientRect().right > 821)
        .slice(0, 5)
        .map((e) => `${e.tagName}.${e.className}#${e.id} ${e.getBoundingClientRect().right}`),
    );
    expect(wide).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(820);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-session-portrait.png'), fullPage: true });
    await page.setViewportSize({ width: 1180, height: 820 });

    const report = await running;
    expect(report.missing_feedback).toBe(0);
    await page.waitForSelector('#notice', { timeout: 15_000 });
    expect(await page.textContent('#notice')).toContain('has ended');
    expect((await dash(page)).view).toBeUndefined(); // the ended session's numbers are gone
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it('switching to another session as one ends never shows the previous patient (issue 11 item 4)', async () => {
    const page = await n.browser.newPage();
    const errors = pageErrors(page);
    await page.goto(`${n.b.http}/?token=${c1Therapist()}`);
    await until(page, 'connected', (d) => d.connection === 'open');
    const short = replay(ALPHA, walk, 1);
    const long = replay(BRAVO, longWalk, 1);
    const a = await sessionOf(page, ALPHA);
    const b = await sessionOf(page, BRAVO);
    await page.evaluate((id) => (window.location.hash = `#/session/${id}`), a);
    await until(page, 'alpha drawn', (d) => d.view?.skeleton?.sessionId === a);
    // Record what is on screen at every animation frame from here on.
    await page.evaluate(() => {
      const w = window as unknown as { __rec: unknown[]; __jepaDash: Dash };
      w.__rec = [];
      const tick = () => {
        const v = w.__jepaDash.view;
        const text = document.getElementById('view')?.innerText ?? '';
        w.__rec.push({ route: w.__jepaDash.route, v: v ? JSON.parse(JSON.stringify(v)) : undefined, text });
        if (w.__rec.length < 20_000) requestAnimationFrame(tick);
      };
      tick();
    });
    await short; // alpha's device got `ended`: switch right now, as a therapist clicking the next patient would
    await page.evaluate((id) => (window.location.hash = `#/session/${id}`), b);
    await until(page, 'bravo drawn', (d) => d.view?.sessionId === b && (d.view.plots?.lengths['knee'] ?? 0) > 10 && d.view.skeleton?.sessionId === b);
    await page.evaluate((id) => (window.location.hash = `#/session/${id}`), a); // back to the ended one
    await page.waitForSelector('#notice', { timeout: 10_000 });
    const rec = await page.evaluate(() => (window as unknown as { __rec: { route: { kind: string; id?: string }; v?: DrawnView; text: string }[] }).__rec);
    expect(rec.length).toBeGreaterThan(10);
    let bravoFrames = 0;
    for (const r of rec) {
      if (r.route.id === b) {
        if (r.v) {
          bravoFrames += 1;
          expect(r.v.sessionId).toBe(b);
          expect(r.v.patientId).toBe(BRAVO);
          if (r.v.skeleton) expect(r.v.skeleton.sessionId).toBe(b);
          if (r.v.plots) expect(r.v.plots.sessionId).toBe(b);
        }
        expect(r.text).not.toContain(ALPHA);
      } else if (r.route.id === a && r.v) {
        expect(r.v.patientId).toBe(ALPHA);
        expect(r.text).not.toContain(BRAVO);
      }
      if (r.v) expect(r.v.refused).toBe(0);
    }
    expect(bravoFrames).toBeGreaterThan(0);
    expect(await page.textContent('#notice')).toMatch(/has ended|not live/);
    expect((await dash(page)).view).toBeUndefined();
    await long;
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('a therapist of another clinic sees only their clinic, and nothing of another clinic’s session', async () => {
    const page = await n.browser.newPage();
    await page.goto(`${n.b.http}/?token=${token({ clinic: 'c2', role: 'therapist' })}`);
    await until(page, 'connected', (d) => d.connection === 'open');
    const seen = new Set<string>();
    const c1 = replay(ALPHA, walk, 1);
    const c2 = replay('patient-other', walk, 1, 'c2');
    const other = await sessionOf(page, 'patient-other');
    await until(page, 'c2 session drawn in the list', (d) => {
      for (const s of d.liveSessions) seen.add(s.sessionId);
      return d.liveSessions.some((s) => s.sessionId === other && s.updates > 20);
    });
    const c1Report = await c1;
    await c2;
    expect(c1Report.missing_feedback).toBe(0);
    expect([...seen]).toEqual([other]); // no other session (e.g. c1's, running at the same time) ever reached the page
    expect(await page.textContent('#view')).not.toContain(ALPHA);
    // the c1 session's replay is "not found" for c2 (its existence is not revealed)
    const recs = (await (await fetch(`${n.a.http}/v1/recordings`, { headers: { authorization: `Bearer ${c1Therapist()}` } })).json()) as {
      sessions: { sessionId: string; patientId: string }[];
    };
    const c1Session = recs.sessions.find((s) => s.patientId === ALPHA)!.sessionId;
    const r = await fetch(`${n.a.http}/v1/sessions/${c1Session}/replay`, {
      headers: { authorization: `Bearer ${token({ clinic: 'c2', role: 'therapist' })}` },
    });
    expect(r.status).toBe(404);
    await page.goto(`${n.a.http}/?token=${token({ clinic: 'c2', role: 'therapist' })}#/replay/${c1Session}`);
    await page.waitForSelector('#notice', { timeout: 10_000 });
    expect(await page.textContent('#notice')).toContain('SESSION_NOT_FOUND');
    expect((await dash(page)).view).toBeUndefined();
    await page.close();
  }, 60_000);

  it('re-subscribes by itself after the connection drops, and shows nothing while it is down', async () => {
    const proxy = await cuttableProxy(n.b.server.port);
    const page = await n.browser.newPage();
    try {
      const http = proxy.url.replace('ws://', 'http://');
      await page.goto(`${http}/?token=${c1Therapist()}`);
      await until(page, 'connected once', (d) => d.connection === 'open' && d.connects === 1);
      const first = replay(BRAVO, longWalk, 1); // 12 s: still live after the drop and the reconnect
      const id = await sessionOf(page, BRAVO);
      await page.evaluate((sid) => (window.location.hash = `#/session/${sid}`), id);
      await until(page, 'drawn', (d) => d.view?.skeleton?.sessionId === id);
      proxy.paused = true;
      proxy.cut();
      const down = await until(page, 'disconnected', (d) => d.connection !== 'open');
      expect(down.liveSessions).toEqual([]);
      expect(down.view?.skeleton).toBeUndefined(); // blanked: no stale picture
      proxy.paused = false;
      const back = await until(
        page,
        'reconnected and drawing again',
        (d) => d.connection === 'open' && d.connects === 2 && d.view?.skeleton?.sessionId === id,
        30_000,
      );
      expect(back.view?.patientId).toBe(BRAVO);
      await first;
    } finally {
      await page.close();
      await proxy.close();
    }
  }, 60_000);

  it('replays a finished session from its recording with the same views and a scrubber', async () => {
    const recs = (await (await fetch(`${n.a.http}/v1/recordings?patient=${BRAVO}`, { headers: { authorization: `Bearer ${c1Therapist()}` } })).json()) as {
      sessions: { sessionId: string; patientId: string }[];
    };
    expect(recs.sessions.length).toBeGreaterThan(0);
    expect(new Set(recs.sessions.map((s) => s.patientId))).toEqual(new Set([BRAVO]));
    const id = recs.sessions[0]!.sessionId;
    n.taskpacks.push({ id: `${BRAVO}.pack1`, sessionId: id, patientId: BRAVO });
    const page = await n.browser.newPage();
    const errors = pageErrors(page);
    // The clinic view lists it as finished, with its replay and its task-pack report.
    await page.goto(`${n.a.http}/?token=${c1Therapist()}`);
    const row = page.locator(`#finished-sessions tr[data-session-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('data-patient-id')).toBe(BRAVO);
    expect(await row.locator(`button[data-taskpack="${BRAVO}.pack1"]`).count()).toBe(1);
    expect(await page.locator('button[data-taskpack]').count()).toBe(1); // on that session's row only
    await row.locator('a.replay').click();
    const d = await until(page, 'replay drawn', (x) => x.replayStates > 0 && x.view?.skeleton !== undefined, 30_000);
    expect(d.view).toMatchObject({ sessionId: id, patientId: BRAVO });
    expect(d.view?.plots?.lengths['knee']).toBe(d.replayStates);
    const mid = Math.floor(d.replayStates / 2);
    await page.locator('#scrubber').fill(String(mid));
    const at = await until(page, 'scrubbed', (x) => x.view?.skeleton !== undefined && x.view.skeleton.seq > 0 && x.view.skeleton.ghostJoints > 10);
    expect(at.view?.skeleton?.ghostH).toBe(HORIZONS[0]);
    // the body is on screen in both views after a jump along the walkway
    for (const c of ['sagittal', 'frontal']) expect(await bodyPixels(page, c)).toBeGreaterThan(800);
    expect(await ghostPixels(page, 'sagittal')).toBeGreaterThan(200);
    expect(await page.textContent('.mode')).toBe('REPLAY');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-replay.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
