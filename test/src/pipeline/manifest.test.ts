import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactWriter, AuditError, auditDirectory, sha256 } from '../../../src/pipeline/manifest.js';

describe('artifact manifest and audit', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jm-manifest-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeRun(): Promise<void> {
    const w = new ArtifactWriter(dir, 'test', () => new Date('2026-01-01T00:00:00Z'));
    await w.write('0-adapter', 'a/recording.json', '{"frames":3}');
    await w.write('2-physical-state', 'b/states.bin', new Uint8Array([1, 2, 3, 4]));
    await w.finish();
  }

  it('lists every artifact with the SHA-256 of its bytes on disk', async () => {
    await writeRun();
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts).toEqual([
      { path: 'a/recording.json', sha256: sha256('{"frames":3}'), bytes: 12, stage: '0-adapter' },
      { path: 'b/states.bin', sha256: sha256(new Uint8Array([1, 2, 3, 4])), bytes: 4, stage: '2-physical-state' },
    ]);
    expect(await auditDirectory(dir)).toEqual({ checked: 2, problems: [] });
  });

  it('names a modified and a missing artifact', async () => {
    await writeRun();
    await writeFile(join(dir, 'a/recording.json'), '{"frames":4}');
    await rm(join(dir, 'b/states.bin'));
    const { problems } = await auditDirectory(dir);
    expect(problems.map((p) => [p.path, p.problem])).toEqual([
      ['a/recording.json', 'modified'],
      ['b/states.bin', 'missing'],
    ]);
    expect(problems[0]?.actual).toBe(sha256('{"frames":4}'));
  });

  it('refuses manifest entries that point outside the directory', async () => {
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ version: 1, artifacts: [{ path: '../etc/passwd', sha256: 'x', bytes: 1, stage: 's' }] }));
    const { problems } = await auditDirectory(dir);
    expect(problems).toEqual([{ path: '../etc/passwd', problem: 'outside' }]);
  });

  it('throws a coded error without a manifest or with a broken one', async () => {
    await expect(auditDirectory(dir)).rejects.toMatchObject({ name: 'AuditError', code: 'AUDIT_NO_MANIFEST' });
    await writeFile(join(dir, 'manifest.json'), '{not json');
    const error = await auditDirectory(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditError);
    expect(error).toMatchObject({ code: 'AUDIT_BAD_MANIFEST' });
  });
});
