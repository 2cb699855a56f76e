import { describe, expect, it } from 'vitest';
import { Subject, from, lastValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { featureNames } from '../../streams/features.js';
import { type MetricsFrame } from '../../streams/metrics.js';
import { sessionPipeline } from '../../streams/session-pipeline.js';
import { StageError, StageErrorCode } from '../../streams/stage-error.js';
import type { Assessment } from '../../streams/types.js';
import { frame } from './synthetic.js';

const frames = Array.from({ length: 40 }, (_, k) => frame(k / 60, { at: [0, 0, 0.01 * k], yaw: 0.4 }));

describe('sessionPipeline', () => {
  it('gives the same states live (a Subject fed frame by frame) as offline (from(array))', async () => {
    const offline = await lastValueFrom(from(frames).pipe(sessionPipeline({ assessment: 'gait', fps: 60 }), toArray()));
    const live$ = new Subject<(typeof frames)[number]>();
    const live: MetricsFrame[] = [];
    live$.pipe(sessionPipeline({ assessment: 'gait', fps: 60 })).subscribe((s) => live.push(s));
    for (const f of frames) live$.next(f);
    live$.complete();
    expect(live).toHaveLength(frames.length);
    expect(live.map((s) => Array.from(s.features))).toEqual(offline.map((s) => Array.from(s.features)));
    expect(live.map((s) => s.metrics)).toEqual(offline.map((s) => s.metrics));
    expect(offline[0]!.features).toHaveLength(featureNames().length);
  });

  it('emits one state per frame, completes and errors with the source (marble)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const src = cold('a-b-c|', { a: frames[0]!, b: frames[1]!, c: frames[2]! });
      expectObservable(
        src.pipe(
          sessionPipeline({ assessment: 'balance' }),
          map((s) => s.index),
        ),
      ).toBe('a-b-c|', { a: 0, b: 1, c: 2 });
      const bad = cold('a-#', { a: frames[0]! }, new Error('socket closed'));
      expectObservable(
        bad.pipe(
          sessionPipeline({ assessment: 'squat' }),
          map((s) => s.phase),
        ),
      ).toBe('a-#', { a: 'standing' }, new Error('socket closed'));
    });
  });

  it('unsubscribes from the source when the consumer leaves early (marble)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c-d|', { a: frames[0]!, b: frames[1]!, c: frames[2]!, d: frames[3]! });
      expectObservable(
        src.pipe(
          sessionPipeline({ assessment: 'sit_to_stand' }),
          map((s) => s.index),
        ),
        '^--!',
      ).toBe('a-b', { a: 0, b: 1 });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('rejects bad options with a coded error', () => {
    expect(() => sessionPipeline({ assessment: 'dance' as Assessment })).toThrow(StageError);
    try {
      sessionPipeline({ assessment: 'gait', fps: 0 });
    } catch (e) {
      expect((e as StageError).code).toBe(StageErrorCode.BAD_OPTIONS);
    }
    expect.assertions(2);
  });
});
