// The README's dashboard screenshots, made the way a user sees it: a real `jepa-motion serve` (shipped
// model, wasm backend, fresh data dir), two real gait recordings replayed into it by the simulator,
// and headless Debian Chromium on the dashboard. `npm run docs:screenshots` rewrites docs/*.png.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { buildDashboard } from '../clients/dashboard/build.js';
import { loadRecordings, simulate } from '../clients/simulator/simulate.js';
import { hmacKeyConfig, mintToken } from '../src/auth/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = join(ROOT, 'docs');
const MOTION = resolve(ROOT, '..', 'shared', 'data', 'motion');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SESSIONS = [
  { patient: 'pt-0412', file: join(MOTION, 'shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d') },
  { patient: 'pt-0087', file: join(MOTION, 'shida-pd-gait', 'figshare_pd_SUB07_off_walk_7.c3d') },
];

interface Dash {
  liveSessions: { sessionId: string; patientId?: string; updates: number }[];
  view?: { plots?: { lengths: Record<string, number> }; skeleton?: unknown };
  replayStates: number;
}
const dash = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __jepaDash: unknown }).__jepaDash)) as Dash);
async function until(page: Page, what: string, check: (d: Dash) => boolean, ms = 60_000): Promise<Dash> {
  const end = Date.now() + ms;
  for (;;) {
    const d = await dash(page);
    if (check(d)) return d;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(100);
  }
}

async function main(): Promise<void> {
  const secret = randomBytes(32).toString('hex');
  const key = hmacKeyConfig(secret);
  const data = await mkdtemp(join(tmpdir(), 'jepa-shots-'));
  const profile = await mkdtemp(join(tmpdir(), 'jepa-shots-chromium-'));
  await mkdir(DOCS, { recursive: true });
  await buildDashboard(); // the current source, not a bundle left from an earlier `npm ci`
  const server = spawn(process.execPath, [join(ROOT, 'bin', 'jepa-motion.mjs'), 'serve', '--port', '0', '--data', data], {
    env: { ...process.env, JEPA_JWT_SECRET: secret, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((ok, fail) => {
    let err = '';
    server.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on (http:\/\/[^\s]+)/.exec(err);
      if (m?.[1]) ok(m[1]);
    });
    server.once('exit', (code) => fail(new Error(`jepa-motion serve exited (${code}):\n${err}`)));
  });
  const browser = await chromium.launchPersistentContext(profile, {
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
    viewport: { width: 1180, height: 820 },
  });
  try {
    const therapist = mintToken({ clinic: 'demo-clinic', role: 'therapist', ttlSeconds: 3600 }, key, Date.now());
    const page = await browser.newPage();
    await page.goto(`${url}/?token=${therapist}`);
    const runs = await Promise.all(SESSIONS.map(async (s) => ({ ...s, recordings: await loadRecordings([s.file]) }))).then((list) =>
      list.map((s) =>
        simulate({
          url: url.replace('http://', 'ws://'),
          token: mintToken({ clinic: 'demo-clinic', role: 'device', patient: s.patient, ttlSeconds: 3600 }, key, Date.now()),
          recordings: s.recordings,
          sessions: 1,
          speed: 1,
          patientId: s.patient,
          rampMs: 0,
          WebSocket,
        }),
      ),
    );
    const d = await until(page, 'both sessions listed', (x) => SESSIONS.every((s) => x.liveSessions.some((l) => l.patientId === s.patient && l.updates > 30)));
    await page.waitForSelector('#live-sessions');
    await page.screenshot({ path: join(DOCS, 'dashboard-clinic.png') });
    const id = d.liveSessions.find((l) => l.patientId === SESSIONS[0]!.patient)!.sessionId;
    await page.evaluate((sid) => (window.location.hash = `#/session/${sid}`), id);
    await until(page, 'six seconds of plots', (x) => (x.view?.plots?.lengths['knee'] ?? 0) > 120);
    await page.screenshot({ path: join(DOCS, 'dashboard-session.png'), fullPage: true });
    for (const r of await Promise.all(runs)) if (r.missing_feedback > 0) throw new Error(`replay lost feedback: ${JSON.stringify(r)}`);
    await page.evaluate((sid) => (window.location.hash = `#/replay/${sid}`), id);
    const rp = await until(page, 'replay loaded', (x) => x.replayStates > 0 && x.view?.skeleton !== undefined);
    await page.locator('#scrubber').fill(String(Math.floor(rp.replayStates * 0.6)));
    await page.waitForTimeout(300); // one repaint after the scrub
    await page.screenshot({ path: join(DOCS, 'dashboard-replay.png'), fullPage: true });
    process.stdout.write(`screenshots written to ${DOCS}: dashboard-clinic.png, dashboard-session.png, dashboard-replay.png\n`);
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(data, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`dashboard-screenshots: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
