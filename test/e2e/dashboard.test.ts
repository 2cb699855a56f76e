// A real browser (Debian chromium via playwright-core) loads the dashboard from a real server, follows a
// session the simulator is replaying (OpenSim walk through the real stream pipeline), and must see it
// drawn: phase text changing, update counter rising, session ended. Skips (with a message) when chromium
// is absent, except under CI=true where it must run.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecordings, simulate } from '../../clients/simulator/simulate.js';
import { livePipeline } from '../../src/sessions/live-pipeline.js';
import { adapt } from '../../streams/adapt.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';
import { startTestServer, token, type TestServer } from '../clients/fixture.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI !== 'true') {
  process.stderr.write(`[e2e] ${CHROMIUM} not found: dashboard e2e skipped (apt-get install -y chromium)\n`);
}
export const SCREENSHOT = '/tmp/jepa-dashboard-e2e.png';

describe.skipIf((!hasChromium && process.env.CI !== 'true') || !hasMotionData)('dashboard in a real browser', () => {
  let srv: TestServer;
  let ctx: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    srv = await startTestServer({ deps: { pipeline: livePipeline(() => adapt()) } });
    profile = await mkdtemp(join(tmpdir(), 'jepa-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1000, height: 720 },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    await srv?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  const pageErrors = (page: Page): string[] => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    return errors;
  };

  it('shows an auth error for a forged token', async () => {
    const page = await ctx.newPage();
    await page.goto(`${srv.http}/?token=not.a.jwt`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'auth-error', undefined, { timeout: 10_000 });
    expect(await page.isVisible('#token-form')).toBe(true);
    await page.close();
  });

  it('follows a replayed session: skeleton drawn, phase changes, counter rises, session ended', async () => {
    const page = await ctx.newPage();
    const errors = pageErrors(page);
    await page.goto(`${srv.http}/?token=${token({ clinic: 'c1', role: 'therapist' })}`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'no-sessions', undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => new URL(window.location.href).searchParams.has('token'))).toBe(false);

    // Record every phase text and counter value the page shows.
    await page.evaluate(() => {
      const seen = { phases: [] as string[], counters: [] as number[] };
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        const p = document.getElementById('phase')?.textContent ?? '';
        if (p && p !== '—' && seen.phases[seen.phases.length - 1] !== p) seen.phases.push(p);
        seen.counters.push(Number(document.getElementById('frame-counter')?.textContent));
      }).observe(document.getElementById('session-view') as Node, { subtree: true, characterData: true, childList: true });
    });

    // Two passes of the 2.5 s walk at real time: ~5 s of live updates.
    const recordings = await loadRecordings([motion('opensim-gait', 'subject01_walk1.trc')]);
    const replay = simulate({
      url: srv.ws,
      token: token({ clinic: 'c1', role: 'device', patient: 'p-e2e' }),
      recordings,
      sessions: 1,
      speed: 0.5,
      patientId: 'p-e2e',
      WebSocket,
    });

    await page.waitForSelector('#sessions button[data-session-id]', { timeout: 10_000 });
    await page.click('#sessions button[data-session-id]');
    await page.waitForFunction(() => Number(document.getElementById('frame-counter')?.textContent) >= 20, undefined, { timeout: 15_000 });
    await page.screenshot({ path: SCREENSHOT });
    const report = await replay;
    expect(report.missing_feedback).toBe(0);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'ended', undefined, { timeout: 15_000 });

    const seen = await page.evaluate(() => (window as unknown as { seen: { phases: string[]; counters: number[] } }).seen);
    expect(new Set(seen.phases).size).toBeGreaterThanOrEqual(2);
    const counters = seen.counters.filter(Number.isFinite);
    expect(Math.max(...counters)).toBeGreaterThan(20);
    // ≤ LIVE_UPDATE_HZ (30/s) of a 60 Hz session: fewer updates than frames
    expect(Math.max(...counters)).toBeLessThan(report.frames_sent);
    // the canvas is not blank: some pixels were drawn in the skeleton colours
    const inked = await page.evaluate(() => {
      const c = document.getElementById('skeleton') as HTMLCanvasElement;
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if ((d[i] ?? 0) > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(500);
    expect(await page.textContent('#status')).toMatch(/Session ended: \d+ frames/);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
