// buildTaskPack in its own background process (src/jobs/background-process.ts): the caller's event
// loop and CPU stay free (a `serve` process keeps answering frames while a pack is built). One process
// per build, ended when the build ends or the caller's signal aborts (the process is terminated: the
// half-built pack is the caller's scratch space).
import { startBackgroundProcess } from '../jobs/background-process.js';
import type { TaskPackInput, TaskPackResult } from './build-taskpack.js';
import { TaskPackError, TaskPackErrorCode } from './taskpack-error.js';

const ENTRY = new URL('./build-thread.ts', import.meta.url);

type FromThread =
  { type: 'progress'; stage: string } | { type: 'done'; result: TaskPackResult } | { type: 'failed'; error: { name: string; message: string; code?: string } };

export function buildTaskPackInThread(input: Omit<TaskPackInput, 'now'>, signal?: AbortSignal): Promise<TaskPackResult> {
  const { onProgress, ...data } = input;
  return new Promise<TaskPackResult>((resolve, reject) => {
    const worker = startBackgroundProcess(ENTRY, { input: data });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = (): void => finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error('task pack build aborted')));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: FromThread) => {
      if (m.type === 'progress') onProgress?.(m.stage);
      else if (m.type === 'done') finish(() => resolve(m.result));
      else {
        const known = Object.values(TaskPackErrorCode) as string[];
        const err =
          m.error.code && known.includes(m.error.code)
            ? new TaskPackError(m.error.code as TaskPackErrorCode, m.error.message)
            : Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code });
        finish(() => reject(err));
      }
    });
    worker.on('exit', (code, signal) =>
      finish(() => reject(new TaskPackError(TaskPackErrorCode.MODEL, `task pack process exited (${code ?? signal}) before finishing`))),
    );
  });
}
