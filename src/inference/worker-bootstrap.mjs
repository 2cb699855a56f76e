// Worker-thread bootstrap for TypeScript entries. On Node 20, `execArgv: ['--import', 'tsx']` does not
// apply the loader to a worker's entry module (ERR_UNKNOWN_FILE_EXTENSION), so the worker starts
// here, registers tsx's ESM hooks in its own thread, then imports the real .ts entry.
// `workerData.background`: the thread is lowered to background priority BEFORE its entry is imported,
// since loading an entry's module graph (tfjs, vega) is seconds of CPU that would otherwise compete
// with the frame path at normal priority.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
if (workerData.background) {
  const { lowerThreadPriority } = await import(new URL('../jobs/background-thread.ts', import.meta.url).href);
  lowerThreadPriority();
}
await import(workerData.entry);
