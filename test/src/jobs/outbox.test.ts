import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JobErrorCode } from '../../../src/jobs/errors.js';
import { Outbox } from '../../../src/jobs/outbox.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ev = (i: number) => ({ subject: 'assessment.completed', id: `e${i}`, payload: new Uint8Array([i, i + 1]) });

it('survives a restart in order, drops removed events, ignores torn temp files and quarantines corrupt ones', async () => {
  const a = await Outbox.open(dir, { now: () => 1000 });
  for (let i = 0; i < 5; i++) await a.append(ev(i));
  await a.remove(0);
  await a.remove(2);
  await writeFile(join(dir, '0000000000000099.evt.tmp'), 'half written');
  await writeFile(join(dir, '0000000000000003.evt'), Buffer.from('garbage!'), { flag: 'w' }); // overwrite a good one
  const b = await Outbox.open(dir);
  expect(b.size).toBe(2);
  expect(b.peek()).toEqual({ seq: 1, subject: 'assessment.completed', id: 'e1', payload: new Uint8Array([1, 2]), queuedAt: 1000 });
  await b.remove(1);
  expect(b.peek()?.id).toBe('e4');
  // New events continue after the highest seq seen, so order is preserved across restarts.
  expect((await b.append(ev(9))).seq).toBe(5);
  expect((await readdir(dir)).sort()).toEqual(['0000000000000003.evt.corrupt', '0000000000000004.evt', '0000000000000005.evt']);
});

it('rejects with OUTBOX_FULL at the event and byte limits', async () => {
  const box = await Outbox.open(dir, { maxEvents: 2, maxBytes: 1000 });
  await box.append(ev(0));
  await box.append(ev(1));
  await expect(box.append(ev(2))).rejects.toMatchObject({ name: 'JobError', code: JobErrorCode.OUTBOX_FULL });
  await box.remove(0);
  await expect(box.append({ ...ev(3), payload: new Uint8Array(1001) })).rejects.toMatchObject({ code: JobErrorCode.OUTBOX_FULL });
  expect(box.size).toBe(1);
  expect(box.byteSize).toBe(2);
});
