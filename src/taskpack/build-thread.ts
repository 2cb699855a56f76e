// Entry of a task-pack build thread (started by build-in-thread.ts): one buildTaskPack per thread, so
// the seconds of planning and rendering never run on the thread that answers frames.
import { parentPort, workerData } from 'node:worker_threads';
import { buildTaskPack, type TaskPackInput } from './build-taskpack.js';
// Planning and rendering are background work: build-in-thread.ts starts this thread at background
// priority (src/jobs/background-thread.ts), so it takes only the CPU the frame path leaves.

const port = parentPort;
if (!port) throw new Error('build-thread.ts runs only as a worker thread (build-in-thread.ts starts it)');
const input = (workerData as { input: Omit<TaskPackInput, 'now' | 'onProgress'> }).input;
buildTaskPack({ ...input, onProgress: (stage) => port.postMessage({ type: 'progress', stage }) }).then(
  (r) => port.postMessage({ type: 'done', result: { ...r } }),
  (e: unknown) =>
    port.postMessage({
      type: 'failed',
      error: { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e), code: (e as { code?: unknown }).code },
    }),
);
