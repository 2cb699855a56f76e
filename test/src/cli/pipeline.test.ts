import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { decodeNpz } from '../../../models/npz.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';
import { captureIo } from './cli-helpers.js';

describe('jepa-motion pipeline and audit', () => {
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'jm-pipeline-'));
  });
  afterEach(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it.runIf(hasMotionData)('runs stages 0–3 on a real walk, prints the summary and writes an auditable run', async () => {
    const io = captureIo();
    const code = await main(['pipeline', motion('opensim-gait', 'subject01_walk1.trc'), '--out', out, '--json'], io);
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(io.stdout());
    expect(summary).toMatchObject({ frames: 151, fps: 60, quality: { passed: true } });
    expect(summary.steps).toBe(summary.events.filter((e: { type: string }) => e.type === 'heel_strike').length);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    const stages = new Set(manifest.artifacts.map((a: { stage: string }) => a.stage));
    expect([...stages].sort()).toEqual(['0-adapter', '1-alignment', '2-physical-state', '3-physics-labels', 'summary']);
    const states = decodeNpz(await readFile(join(out, 'subject01_walk1/2-physical-state/states.npz')));
    expect(states['joints']?.shape).toEqual([151, 20, 3]);

    const audit = captureIo();
    expect(await main(['audit', out], audit)).toBe(0);
    await writeFile(join(out, 'subject01_walk1/3-physics-labels/labels.json'), '{}');
    const tampered = captureIo();
    expect(await main(['audit', out], tampered)).toBe(1);
    expect(tampered.stderr()).toMatch(/subject01_walk1\/3-physics-labels\/labels.json: modified/);
  });

  it('answers bad input with one line naming the file and the problem, and a non-zero exit', async () => {
    const empty = join(out, 'empty.trc');
    await writeFile(empty, '');
    const cases: [string[], RegExp][] = [
      [[empty], /empty\.trc.*empty.*\[ADAPTER_EMPTY\]/],
      [[out], /is a directory/],
      [[join(out, 'nope.c3d')], /nope\.c3d: no such file/],
    ];
    for (const [files, pattern] of cases) {
      const io = captureIo();
      const code = await main(['pipeline', ...files, '--out', join(out, 'run')], io);
      expect(code).not.toBe(0);
      expect(io.stderr()).toMatch(pattern);
      expect(io.stderr().trim().split('\n')).toHaveLength(1);
      expect(io.stderr()).not.toMatch(/\n\s+at /);
    }
    const usage = captureIo();
    expect(await main(['pipeline', empty], usage)).toBe(2);
    expect(usage.stderr()).toMatch(/--out <dir> is required/);
  });
});
