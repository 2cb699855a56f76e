// Stages 0–10 end to end through the CLI on a real gait recording: the pack's artifacts, its chained
// manifest, and an audit that names every tampered or missing artifact anywhere in the chain.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { MANIFEST_FILE, sha256, type Manifest } from '../../../src/pipeline/manifest.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { captureIo } from '../cli/cli-helpers.js';

describe.runIf(hasMotionData)('jepa-motion taskpack and audit', () => {
  let dir: string;
  let pack: string;
  let manifest: Manifest;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-taskpack-'));
    const io = captureIo({ JEPA_BACKEND: 'wasm' });
    const code = await main(
      ['taskpack', motion('opensim-gait', 'subject01_walk1.trc'), '--out', dir, '--patient', 'P-7', '--session', 'S-walk1', '--clinic', 'C1', '--json'],
      io,
    );
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const line = JSON.parse(io.stdout());
    pack = line.dir;
    expect(line).toMatchObject({ assessment: 'gait', patient: 'P-7', session: 'S-walk1' });
    manifest = JSON.parse(await readFile(join(pack, MANIFEST_FILE), 'utf8')) as Manifest;
  }, 180_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes every stage 0–9 artifact and a manifest whose chain covers the stages', async () => {
    const stages = new Set(manifest.artifacts.map((a) => a.stage));
    for (const s of [
      '0-adapter',
      '2-physical-state',
      '3-physics-labels',
      '4-sim-replay',
      '5-dataset',
      '6-model',
      '7-planning',
      '8-sim-execution',
      '9-task-pack',
    ])
      expect(stages).toContain(s);
    expect(manifest.chain?.map((l) => l.stage)).toEqual([
      '0-adapter',
      '2-physical-state',
      '3-physics-labels',
      '4-sim-replay',
      '5-dataset',
      '6-model',
      '7-planning',
      '8-sim-execution',
      '9-task-pack',
    ]);
    expect(manifest.subject).toMatchObject({ patient: 'P-7', session: 'S-walk1', clinic: 'C1' });
    const rec = JSON.parse(await readFile(join(pack, '0-adapter', 'recording.json'), 'utf8'));
    expect(rec.sha256).toBe(sha256(await readFile(motion('opensim-gait', 'subject01_walk1.trc'))));
    const variants = JSON.parse(await readFile(join(pack, '7-planning', 'variants.json'), 'utf8'));
    expect(variants.variants.length).toBeGreaterThan(0);
    const cf = JSON.parse(await readFile(join(pack, '7-planning', 'counterfactuals.json'), 'utf8'));
    expect(cf.plans[0].goal).toMatchObject({ quantity: 'knee_flexion_r', phase: 'mid_stance', requested: 5 });
    const metrics = JSON.parse(await readFile(join(pack, '9-task-pack', 'metrics.json'), 'utf8'));
    for (const m of metrics.metrics) {
      expect(m.unit.length).toBeGreaterThan(0);
      expect(m.definition.length).toBeGreaterThan(0);
    }
    const io = captureIo();
    expect(await main(['audit', pack], io)).toBe(0);
  });

  const tampered = async (name: string, edit: (p: string) => Promise<void>): Promise<{ code: number; err: string }> => {
    const copy = join(dir, `tamper-${name}`);
    await cp(pack, copy, { recursive: true });
    await edit(copy);
    const io = captureIo();
    const code = await main(['audit', copy], io);
    return { code, err: io.stderr() };
  };

  it.each([
    '0-adapter/recording.json',
    '2-physical-state/states.npz',
    '5-dataset/dataset.npz',
    '6-model/model-ref.json',
    '7-planning/variants.json',
    '8-sim-execution/corrections.json',
    '9-task-pack/report.html',
  ])('audit names a modified %s (exit 1)', async (path) => {
    const { code, err } = await tampered(path.replace(/\W/g, '_'), async (p) => {
      const bytes = await readFile(join(p, path));
      bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01;
      await writeFile(join(p, path), bytes);
    });
    expect(code).toBe(1);
    expect(err).toContain(`audit: ${path}: modified`);
  });

  it('audit catches an artifact replaced AND re-listed in the manifest: the next stage still names what it read', async () => {
    const path = '2-physical-state/states.npz';
    const { code, err } = await tampered('relisted', async (p) => {
      const bytes = await readFile(join(p, path));
      bytes[100] = bytes[100]! ^ 0x01;
      await writeFile(join(p, path), bytes);
      const m = JSON.parse(await readFile(join(p, MANIFEST_FILE), 'utf8')) as Manifest;
      const artifacts = m.artifacts.map((a) => (a.path === path ? { ...a, sha256: sha256(bytes) } : a));
      await writeFile(join(p, MANIFEST_FILE), JSON.stringify({ ...m, artifacts }));
    });
    expect(code).toBe(1);
    expect(err).not.toContain(`${path}: modified`);
    for (const stage of ['3-physics-labels', '4-sim-replay', '5-dataset', '7-planning'])
      expect(err).toContain(`audit: ${path}: chain (stage ${stage} was computed from sha256`);
  });

  it('audit names a missing artifact and the stage that needs it', async () => {
    const { code, err } = await tampered('missing', (p) => rm(join(p, '7-planning', 'variants.npz')));
    expect(code).toBe(1);
    expect(err).toContain('audit: 7-planning/variants.npz: missing');
    expect(err).toContain('needed by stage 8-sim-execution');
  });

  it('usage mistakes exit 2, an unreadable recording exits 1 naming it', async () => {
    const usage = captureIo();
    expect(await main(['taskpack', motion('opensim-gait', 'subject01_walk1.trc')], usage)).toBe(2);
    expect(usage.stderr()).toContain('--out <dir> is required');
    const bad = captureIo();
    expect(await main(['taskpack', join(dir, 'no-such-file.trc'), '--out', join(dir, 'x')], bad)).toBe(1);
    expect(bad.stderr()).toContain('no-such-file.trc');
  });
});
