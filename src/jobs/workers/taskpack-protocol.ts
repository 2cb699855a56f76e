// Messages between the task-pack builder (./taskpack-builder.ts, in the job-consuming process) and its
// background process (./taskpack-process.ts): V8-serialised over the process's IPC channel.
import type { Assessment } from '../../../streams/types.js';
import type { ModelSource, planSummary } from '../../taskpack/build-taskpack.js';
import type { WireError } from '../job-thread-protocol.js';

/** One pack to build: the process fetches the recording from the store and stores the pack's files. */
export interface PackBuild {
  readonly recordingKey: string;
  readonly recordingSha256: string;
  /** Scratch directory for the recording and the pack; the caller removes it afterwards. */
  readonly scratch: string;
  /** Artifact key prefix of the pack's files (ends with '/'). */
  readonly filesPrefix: string;
  readonly model: ModelSource;
  readonly patient: string;
  readonly session: string;
  readonly clinic: string;
}

/** What the caller's index entry needs of a stored pack. */
export interface StoredPack {
  readonly id: string;
  readonly assessment: Assessment;
  readonly seconds: Readonly<Record<string, number>>;
  /** Pack-relative path → artifact key. */
  readonly files: Readonly<Record<string, string>>;
  readonly metrics: unknown;
  readonly counterfactuals: readonly Parameters<typeof planSummary>[0][];
  /** Milliseconds the build slept to keep its pace (../pacer.ts). */
  readonly sleptMs: number;
}

export type ToPackProcess =
  | { readonly type: 'build'; readonly buildId: number; readonly build: PackBuild }
  /** Fraction of the time builds may compute from now on (../pacer.ts). */
  | { readonly type: 'pace'; readonly duty: number };
export type FromPackProcess =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly buildId: number; readonly stage: string }
  /** A heartbeat while files are stored. */
  | { readonly type: 'working'; readonly buildId: number }
  | { readonly type: 'done'; readonly buildId: number; readonly stored: StoredPack }
  | { readonly type: 'failed'; readonly buildId: number; readonly error: WireError };
