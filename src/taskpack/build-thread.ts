// Entry of a task-pack build process (started by build-in-thread.ts): one buildTaskPack per process,
// so the seconds of planning and rendering never run in the process that answers frames. Planning and
// rendering are background work: the process runs at background priority
// (src/jobs/background-process.ts), so it takes only the CPU the frame path leaves.
import { backgroundStart } from '../jobs/host-port.js';
import { buildTaskPack, type TaskPackInput } from './build-taskpack.js';

const start = backgroundStart<{ input: Omit<TaskPackInput, 'now' | 'onProgress'> }>();
if (!start) throw new Error('build-thread.ts runs only as a background process (build-in-thread.ts starts it)');
const { port } = start;
const input = start.data.input;
buildTaskPack({ ...input, onProgress: (stage) => port.postMessage({ type: 'progress', stage }) }).then(
  (r) => port.postMessage({ type: 'done', result: { ...r } }),
  (e: unknown) =>
    port.postMessage({
      type: 'failed',
      error: { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e), code: (e as { code?: unknown }).code },
    }),
);
