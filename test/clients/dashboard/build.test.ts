// The dashboard bundle: built from source by esbuild, self-contained (no CDN or other origin at run
// time), rebuilt at server start only when missing.
import { readFile, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD_FILES, buildDashboard, ensureDashboardBuilt, isBuilt } from '../../../clients/dashboard/build.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('dashboard build', () => {
  it('bundles the page, uPlot and the protocol into files that load nothing from elsewhere', async () => {
    const out = await mkdtemp(join(tmpdir(), 'jepa-dash-build-'));
    dirs.push(out);
    const r = await buildDashboard(out);
    expect(Object.keys(r.bytes).sort()).toEqual([...BUILD_FILES].sort());
    const html = await readFile(join(out, 'index.html'), 'utf8');
    expect([...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) => m[1])).toEqual(['./app.css', './app.js']);
    const js = await readFile(join(out, 'app.js'), 'utf8');
    expect(js).toContain('uplot'); // uPlot's class names: bundled, not fetched
    expect(js).not.toMatch(/\bimport\s*\(?\s*["']https?:/);
    expect(js).not.toMatch(/from\s*["'](?:https?:|\/\/)/);
    const css = await readFile(join(out, 'app.css'), 'utf8');
    expect(css).toContain('.uplot');
    expect(css).not.toMatch(/@import|url\(\s*["']?https?:/);
  });

  it('ensureDashboardBuilt builds only when a file of the build is missing', async () => {
    const out = await mkdtemp(join(tmpdir(), 'jepa-dash-build-'));
    dirs.push(out);
    expect(await isBuilt(out)).toBe(false);
    expect(await ensureDashboardBuilt(out)).toBe('built');
    expect(await ensureDashboardBuilt(out)).toBe('present');
    await unlink(join(out, 'app.css'));
    expect(await ensureDashboardBuilt(out)).toBe('built');
    expect(await isBuilt(out)).toBe(true);
  });
});
