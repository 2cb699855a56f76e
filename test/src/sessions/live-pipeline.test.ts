import { describe, expect, it } from 'vitest';
import { BehaviorSubject, Subject, map } from 'rxjs';
import { arkitFrames, floorPlane } from '../../../clients/simulator/arkit-frames.js';
import { flattenMetrics, livePipeline, liveStages, toPipelineState } from '../../../src/sessions/live-pipeline.js';
import type { FrameMsg, PipelineState } from '../../../src/sessions/types.js';
import { adapt } from '../../../streams/adapt.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import type { PlaneAnchor } from '../../../streams/types.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';

describe('flattenMetrics', () => {
  it('joins nested keys with _, reports lists as count + last finite value, maps booleans to 0/1 and drops the rest', () => {
    const out = flattenMetrics({
      cadence_spm: 104.5,
      stance_pct: { left: 61, right: NaN },
      rep_times_s: [1.2, 1.4, NaN],
      empty: [],
      walking: true,
      label: 'gait',
      missing: null,
      deep: { a: { b: 2 } },
    });
    expect(out).toEqual({
      cadence_spm: 104.5,
      stance_pct_left: 61,
      rep_times_s_count: 3,
      rep_times_s_last: 1.4,
      empty_count: 0,
      walking: 1,
      deep_a_b: 2,
    });
    expect(Object.keys(out)).toEqual(['cadence_spm', 'stance_pct_left', 'rep_times_s_count', 'rep_times_s_last', 'empty_count', 'walking', 'deep_a_b']);
  });

  it('stops at 64 wire metrics, keeping the first ones in key order (a list may finish its pair)', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i]));
    const out = flattenMetrics({ ...many });
    expect(Object.keys(out)).toHaveLength(64);
    expect(out['m63']).toBe(63);
    expect(out['m64']).toBeUndefined();
    const nested = flattenMetrics({ a: Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, i])), list: [1, 2], after: 5 });
    expect(Object.keys(nested)).toHaveLength(65);
    expect(nested['list_last']).toBe(2);
    expect(nested['after']).toBeUndefined();
  });

  it('gives the same keys once its memo of joined names is full (more distinct names than it keeps)', () => {
    for (let call = 0; call < 40; call++) {
      const m = { [`g${call}`]: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, [i, call]])) };
      const out = flattenMetrics(m);
      expect(Object.keys(out)).toHaveLength(60);
      expect(out[`g${call}_k29_count`]).toBe(2);
      expect(out[`g${call}_k29_last`]).toBe(call);
    }
  });

  it('reads only own keys', () => {
    const proto = { inherited: 1 };
    const m = Object.create(proto) as Record<string, number>;
    m['own'] = 2;
    expect(flattenMetrics(m)).toEqual({ own: 2 });
  });
});

describe.skipIf(!hasMotionData)('livePipeline (one synchronous step per frame)', () => {
  it('gives exactly the states of the RxJS operator chain on a real recording, with a bad frame and a plane update', async () => {
    const rec = await readRecording(motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'));
    const plane = floorPlane(rec);
    expect(plane).toBeDefined();
    const frames: FrameMsg[] = [...arkitFrames(rec, { clockOffsetS: 100 })].map((f) => ({ type: 'frame', ...f }));
    // A frame whose anchor is not finite: the adapter drops it (no state) in both chains.
    frames[40] = { ...frames[40]!, anchor: new Float32Array(16).fill(NaN) };
    const planes$ = new BehaviorSubject<readonly PlaneAnchor[]>([]);
    const src = new Subject<FrameMsg>();
    let opState: PipelineState | undefined;
    src
      .pipe(
        liveStages(() => adapt(), { assessment: 'gait', fps: 60, env: planes$ }),
        map(toPipelineState),
      )
      .subscribe((s) => (opState = s));
    const live = livePipeline()({ assessment: 'gait', fps: 60, planes$ });
    let states = 0;
    frames.forEach((f, i) => {
      if (i === 30) planes$.next([plane!]);
      opState = undefined;
      src.next(f);
      const s = live.step(f);
      expect(s, `frame ${i}`).toStrictEqual(opState);
      if (s) states += 1;
    });
    expect(states).toBe(frames.length - 1);
    live.close();
    expect(planes$.observed).toBe(true); // the operator chain still listens; the closed step no longer does
    src.complete();
    expect(planes$.observed).toBe(false);
  });
});
