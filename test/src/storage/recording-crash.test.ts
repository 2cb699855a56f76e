// kill -9 a process that is appending with group commit: every append it acknowledged (printed
// after the await) must be in the file after repair, in order, intact.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/motion-data.js';
import { readRecording } from '../../../src/storage/recording-reader.js';
import { findUnfinished, recoverRecordings } from '../../../src/storage/recording-recovery.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reccrash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const child = join(repoRoot, 'test', 'src', 'storage', 'fixtures', 'append-child.ts');

async function runAndKill(path: string, killAfterAcks: number): Promise<Set<number>> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, path, '2'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const acked = new Set<number>();
  let stderr = '';
  let partial = '';
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.on('exit', (code, sig) => resolve(sig ?? code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child acked only ${acked.size} in 20 s; stderr: ${stderr}`)), 20_000);
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) acked.add(Number(l));
      if (acked.size >= killAfterAcks && proc.kill('SIGKILL')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', () => {
      clearTimeout(timer);
      if (acked.size < killAfterAcks) reject(new Error(`child exited early; stderr: ${stderr}`));
    });
  });
  expect(await exited).toBe('SIGKILL');
  return acked;
}

it('loses no acknowledged append when the writer is killed with SIGKILL mid-stream', async () => {
  for (const [i, killAt] of [400, 1500].entries()) {
    const path = join(dir, `s${i}.jmrl`);
    const acked = await runAndKill(path, killAt);
    expect(await findUnfinished(dir)).toEqual([path]);
    const { recovered, failed } = await recoverRecordings(dir);
    expect(failed).toEqual([]);
    expect(recovered).toHaveLength(1);
    const { entries, end } = await readRecording(path);
    expect(end.status).toBe('complete');
    // Records are the prefix 0..n-1, every one intact, and every acknowledged seq is among them.
    entries.forEach((e, k) => {
      const v = e.value as { seq: number; joints: Float32Array };
      expect(v.seq).toBe(k);
      expect(v.joints.every((x) => x === k)).toBe(true);
    });
    const maxAcked = Math.max(...acked);
    expect(entries.length).toBeGreaterThan(maxAcked);
    expect(acked.size).toBeGreaterThanOrEqual(killAt);
  }
}, 60_000);
