// Each stage writes its input frame's fields out one by one instead of spreading the frame (a spread frame
// cost a fresh hidden class per frame; see contacts.ts). This checks that none is left behind: every
// field of a stage's input reaches its output unchanged, the stage's own fields added, at every frame.
import { describe, expect, it } from 'vitest';
import { alignStep } from '../../streams/align.js';
import { contactsStep } from '../../streams/contacts.js';
import { featuresStep } from '../../streams/features.js';
import { metricsStep } from '../../streams/metrics.js';
import { phasesStep } from '../../streams/phases.js';
import { physicalStateStep } from '../../streams/physical-state.js';
import type { Assessment } from '../../streams/types.js';
import { frame, moved, LEFT_FOOT } from './synthetic.js';

describe('stage outputs carry every field of their input', () => {
  for (const assessment of ['gait', 'balance', 'sit_to_stand', 'squat'] as Assessment[]) {
    it(assessment, () => {
      const align = alignStep();
      const stages: [string, (f: never) => object][] = [
        ['physical state', physicalStateStep()],
        ['contacts', contactsStep()],
        ['phases', phasesStep({ assessment })],
        ['features', featuresStep()],
        ['metrics', metricsStep({ assessment })],
      ];
      let checked = 0;
      for (let i = 0; i < 120; i++) {
        // Standing, then the left foot lifted and put down again: contacts, events and phases change.
        const lift = i % 40 > 20 ? 0.08 : 0;
        let f: object | null = align(frame(i / 60, { at: [0, 0, 0.005 * i], joints: moved(LEFT_FOOT, [0, lift, 0]) }), []);
        for (const [name, step] of stages) {
          if (!f) break;
          const input: object = f;
          const output: object = step(input as never);
          for (const [k, v] of Object.entries(input)) {
            expect(Object.hasOwn(output, k), `${name} drops ${k} (frame ${i})`).toBe(true);
            expect((output as Record<string, unknown>)[k], `${name} changes ${k} (frame ${i})`).toBe(v);
          }
          expect(Object.keys(output).length, `${name} adds nothing`).toBeGreaterThan(Object.keys(input).length);
          checked += 1;
          f = output;
        }
      }
      expect(checked).toBe(120 * stages.length);
    });
  }
});
