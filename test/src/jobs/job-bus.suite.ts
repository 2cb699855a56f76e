// One behavioural suite for every JobBus implementation (in-process, NATS JetStream).
import { describe, expect, it } from 'vitest';
import { JobError, JobErrorCode } from '../../../src/jobs/errors.js';
import { JobSubject, type JobBus, type SettledInfo } from '../../../src/jobs/job-bus.js';
import { countdown, deferred, within } from './deferred.js';
import { completed } from './payloads.js';

export interface BusFixture {
  readonly bus: JobBus;
  /** Releases the bus (and anything the fixture started). */
  dispose(): Promise<void>;
}

const S = JobSubject.ASSESSMENT_COMPLETED;
const T = 5_000;
const fast = { backoffMs: [5, 10], ackWaitMs: 5_000 } as const;

export function jobBusSuite(name: string, make: () => Promise<BusFixture>): void {
  describe(`JobBus contract: ${name}`, () => {
    const withBus = (fn: (bus: JobBus) => Promise<void>) => async () => {
      const f = await make();
      try {
        await fn(f.bus);
      } finally {
        await f.dispose();
      }
    };

    it(
      'delivers published events in order with attempt 1 and acks them',
      withBus(async (bus) => {
        const got: Array<[unknown, string, number]> = [];
        const done = countdown(3);
        for (let i = 0; i < 3; i++) {
          expect(await bus.publish(S, completed(`s${i}`, { frames: i }), { id: `job-${i}` })).toMatchObject({
            duplicate: false,
          });
        }
        const c = await bus.consume(
          S,
          async (ev, ctx) => {
            got.push([ev, ctx.id, ctx.attempt]);
          },
          { ...fast, onSettled: (i) => i.outcome === 'ack' && done.hit() },
        );
        await within(done.done, T, '3 acks');
        await c.stop();
        expect(got).toEqual([0, 1, 2].map((i) => [completed(`s${i}`, { frames: i }), `job-${i}`, 1]));
        expect(await bus.depth(S)).toBe(0);
      }),
    );

    it(
      'acks only after the handler resolves: the job stays pending while it runs',
      withBus(async (bus) => {
        const started = deferred();
        const release = deferred();
        const settled = deferred<SettledInfo>();
        await bus.publish(S, completed('n1'), { id: 'slow-1' });
        const c = await bus.consume(
          S,
          async () => {
            started.resolve();
            await release.promise;
          },
          { ...fast, onSettled: settled.resolve },
        );
        await within(started.promise, T, 'handler start');
        expect(await bus.depth(S)).toBe(1);
        release.resolve();
        expect((await within(settled.promise, T, 'settle')).outcome).toBe('ack');
        expect(await bus.depth(S)).toBe(0);
        await c.stop();
      }),
    );

    it(
      'retries a failing handler with backoff, then succeeds',
      withBus(async (bus) => {
        const attempts: number[] = [];
        const acked = deferred<SettledInfo>();
        const outcomes: string[] = [];
        await bus.publish(S, completed('n1'), { id: 'flaky-1' });
        const c = await bus.consume(
          S,
          async (_ev, ctx) => {
            attempts.push(ctx.attempt);
            if (ctx.attempt < 3) throw new Error(`transient ${ctx.attempt}`);
          },
          { ...fast, maxDeliver: 5, onSettled: (i) => (outcomes.push(i.outcome), i.outcome === 'ack' && acked.resolve(i)) },
        );
        expect((await within(acked.promise, T, 'eventual ack')).attempt).toBe(3);
        expect(attempts).toEqual([1, 2, 3]);
        expect(outcomes).toEqual(['nak', 'nak', 'ack']);
        await c.stop();
        expect(await bus.depth(S)).toBe(0);
      }),
    );

    it(
      'terminates after maxDeliver attempts, and at once on a permanent JobError',
      withBus(async (bus) => {
        const attempts = new Map<string, number[]>();
        const terms = new Map<string, SettledInfo>();
        const done = countdown(2);
        await bus.publish(S, completed('n1'), { id: 'always-fails' });
        await bus.publish(S, completed('n2'), { id: 'bad-input' });
        const c = await bus.consume(
          S,
          async (_ev, ctx) => {
            attempts.set(ctx.id, [...(attempts.get(ctx.id) ?? []), ctx.attempt]);
            if (ctx.id === 'bad-input') throw new JobError(JobErrorCode.HANDLER, 'recording missing', { permanent: true });
            throw new Error('boom');
          },
          { ...fast, maxDeliver: 3, concurrency: 2, onSettled: (i) => i.outcome === 'term' && (terms.set(i.id, i), done.hit()) },
        );
        await within(done.done, T, 'two terms');
        expect(attempts.get('always-fails')).toEqual([1, 2, 3]);
        expect(attempts.get('bad-input')).toEqual([1]);
        expect((terms.get('bad-input')?.error as JobError).code).toBe(JobErrorCode.HANDLER);
        await c.stop();
        expect(await bus.depth(S)).toBe(0);
      }),
    );

    it(
      'drops a duplicate publish (same id): delivered once',
      withBus(async (bus) => {
        expect(await bus.publish(S, completed('first'), { id: 'dup-1' })).toEqual({ status: 'sent', duplicate: false });
        expect(await bus.publish(S, completed('second'), { id: 'dup-1' })).toEqual({ status: 'sent', duplicate: true });
        await bus.publish(S, completed('sentinel'), { id: 'dup-2' });
        const seen: unknown[] = [];
        const sentinel = deferred();
        const c = await bus.consume(
          S,
          async (ev) => {
            seen.push(ev);
            if (ev.sessionId === 'sentinel') sentinel.resolve();
          },
          fast,
        );
        await within(sentinel.promise, T, 'sentinel');
        await c.stop();
        expect(seen).toEqual([completed('first'), completed('sentinel')]);
      }),
    );

    it(
      'never runs more than `concurrency` handlers at once, and fills every slot',
      withBus(async (bus) => {
        let running = 0;
        let peak = 0;
        const gates = Array.from({ length: 8 }, () => deferred());
        const three = countdown(3);
        const all = countdown(8);
        for (let i = 0; i < 8; i++) await bus.publish(S, completed(String(i)), { id: `c-${i}` });
        const c = await bus.consume(
          S,
          async (ev) => {
            running += 1;
            peak = Math.max(peak, running);
            three.hit();
            await gates[Number(ev.sessionId)]?.promise;
            running -= 1;
          },
          { ...fast, concurrency: 3, onSettled: all.hit },
        );
        await within(three.done, T, '3 running');
        expect(running).toBe(3);
        for (const g of gates) g.resolve();
        await within(all.done, T, 'all settled');
        expect(peak).toBe(3);
        await c.stop();
      }),
    );

    it(
      'stop() waits for running handlers, then takes no more jobs',
      withBus(async (bus) => {
        const started = deferred();
        const release = deferred();
        let stopped = false;
        const handled: string[] = [];
        await bus.publish(S, completed('n1'), { id: 'drain-1' });
        const c = await bus.consume(
          S,
          async (_ev, ctx) => {
            handled.push(ctx.id);
            started.resolve();
            await release.promise;
          },
          fast,
        );
        await within(started.promise, T, 'start');
        const stopping = c.stop().then(() => (stopped = true));
        await Promise.resolve();
        expect(stopped).toBe(false);
        release.resolve();
        await within(stopping, T, 'stop');
        expect(await bus.depth(S)).toBe(0);
        await bus.publish(S, completed('n2'), { id: 'drain-2' });
        expect(await bus.depth(S)).toBe(1);
        expect(handled).toEqual(['drain-1']);
        // A new consumer picks up what the stopped one left.
        const next = deferred<string>();
        const c2 = await bus.consume(S, async (_ev, ctx) => next.resolve(ctx.id), fast);
        expect(await within(next.promise, T, 'second consumer')).toBe('drain-2');
        await c2.stop();
      }),
    );

    it(
      'times out a handler after ackWaitMs (signal aborted) and retries it',
      withBus(async (bus) => {
        const aborted = deferred<unknown>();
        const acked = deferred<SettledInfo>();
        await bus.publish(S, completed('n1'), { id: 'hang-1' });
        const c = await bus.consume(
          S,
          async (_ev, ctx) => {
            if (ctx.attempt === 1) {
              await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => (aborted.resolve(ctx.signal.reason), resolve())));
              return;
            }
          },
          { backoffMs: [5], ackWaitMs: 150, onSettled: (i) => i.outcome === 'ack' && acked.resolve(i) },
        );
        expect((await within(aborted.promise, T, 'abort')) as JobError).toMatchObject({ code: JobErrorCode.TIMEOUT });
        expect((await within(acked.promise, T, 'retry ack')).attempt).toBe(2);
        await c.stop();
      }),
    );

    it(
      'rejects bad subjects, ids and unencodable events with coded errors',
      withBus(async (bus) => {
        await expect(bus.publish('nope' as never, completed('x') as never, { id: 'x' })).rejects.toMatchObject({
          name: 'JobError',
          code: JobErrorCode.BAD_REQUEST,
        });
        // Notifications are not jobs: they never enter the work queue.
        await expect(bus.publish('model.updated' as never, completed('x') as never, { id: 'x' })).rejects.toMatchObject({ code: JobErrorCode.BAD_REQUEST });
        await expect(bus.publish(S, completed('x'), { id: '' })).rejects.toMatchObject({ code: JobErrorCode.BAD_REQUEST });
        await expect(bus.publish(S, completed('x'), { id: 'has space' })).rejects.toMatchObject({ code: JobErrorCode.BAD_REQUEST });
        // The subject's contract is checked before anything is sent.
        const { patientId: _missing, ...noPatient } = completed('x');
        await expect(bus.publish(S, noPatient as never, { id: 'no-patient' })).rejects.toMatchObject({ code: JobErrorCode.BAD_EVENT, permanent: true });
        await expect(bus.publish(S, { ...completed('x'), patientId: 'a/b' }, { id: 'bad-patient' })).rejects.toMatchObject({ code: JobErrorCode.BAD_EVENT });
        await expect(bus.consume(S, async () => undefined, { concurrency: 0 })).rejects.toMatchObject({ code: JobErrorCode.BAD_REQUEST });
        expect(await bus.depth(S)).toBe(0);
      }),
    );
  });
}
