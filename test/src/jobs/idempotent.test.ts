import { expect, it } from 'vitest';
import { skipIfDone, resultExists } from '../../../src/jobs/idempotent.js';
import { JobSubject, type JobContext } from '../../../src/jobs/job-bus.js';
import { completed } from './payloads.js';

const ev = completed('s1');

const ctx = (id: string, attempt = 1): JobContext => ({ id, subject: JobSubject.ASSESSMENT_COMPLETED, attempt, signal: new AbortController().signal });

it('runs a job once and skips it when its stored result exists', async () => {
  const stored = new Set<string>();
  const store = { has: async (k: string) => stored.has(k) };
  const runs: string[] = [];
  const skipped: string[] = [];
  const handler = skipIfDone(
    resultExists(store, (c) => `taskpacks/${c.id}.json`),
    async (_ev, c) => {
      runs.push(c.id);
      stored.add(`taskpacks/${c.id}.json`);
    },
    (c) => skipped.push(`${c.id}#${c.attempt}`),
  );
  await handler(ev, ctx('j1'));
  await handler(ev, ctx('j1', 2)); // redelivery after a lost ack
  await handler(ev, ctx('j2'));
  expect(runs).toEqual(['j1', 'j2']);
  expect(skipped).toEqual(['j1#2']);
});

it('propagates handler failures (so the runner naks) and does not mark the job done', async () => {
  const handler = skipIfDone({ isDone: async () => false }, async () => {
    throw new Error('disk full');
  });
  await expect(handler(ev, ctx('j3'))).rejects.toThrow('disk full');
});
