// report.html of a real task pack in a real browser (Debian chromium via playwright-core): it renders
// without errors, carries its plots as drawn SVG (lines, bars, points), names the patient and session,
// and prints to PDF. The screenshot is kept as the test's artifact.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_MODEL_DIR } from '../../src/config.js';
import { buildTaskPack } from '../../src/taskpack/build-taskpack.js';
import { hasMotionData, motion } from '../helpers/motion-data.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI !== 'true') process.stderr.write(`[e2e] ${CHROMIUM} not found: task-pack report e2e skipped\n`);
export const REPORT_SCREENSHOT = '/tmp/jepa-taskpack-report.png';

describe.skipIf((!hasChromium && process.env.CI !== 'true') || !hasMotionData)('task-pack report in a real browser', () => {
  let dir: string;
  let browser: Browser;
  let report: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-report-'));
    const r = await buildTaskPack({
      recordingPath: motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'),
      out: join(dir, 'pack'),
      model: { dir: SHIPPED_MODEL_DIR, version: 'pretrained' },
      patient: 'P-0042',
      session: 'S-2026-12-07-a',
      clinic: 'clinic-a',
    });
    report = join(r.dir, '9-task-pack', 'report.html');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders its plots, names patient and session, and prints to PDF', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${report}`);
    await page.screenshot({ path: REPORT_SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]); // self-contained
    const plots = await page.evaluate(() =>
      Array.from(document.querySelectorAll('figure > svg.marks')).map((svg) => ({
        lines: svg.querySelectorAll('.mark-line path').length,
        bars: svg.querySelectorAll('.mark-rect path').length,
        points: svg.querySelectorAll('.mark-symbol path').length,
        title: svg.querySelector('.role-title-subtitle')?.textContent ?? '',
        width: svg.getBoundingClientRect().width,
      })),
    );
    expect(plots).toHaveLength(3);
    const [angles, phases, uncertainty] = plots;
    expect(angles!.lines).toBeGreaterThanOrEqual(4); // knee and hip, left and right
    expect(phases!.bars).toBeGreaterThan(10);
    expect(uncertainty!.lines).toBeGreaterThanOrEqual(1);
    for (const p of plots) {
      expect(p.title).toBe('patient P-0042 · session S-2026-12-07-a');
      expect(p.width).toBeGreaterThan(300);
    }
    const text = await page.textContent('body');
    expect(text).toContain('If right knee flexion in mid-stance were +5.0 deg');
    expect(text).toMatch(/Cadence\s*[\d.]+\s*steps\/min/);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });
});
