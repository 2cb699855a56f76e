// Worker-thread bootstrap for TypeScript entries. On Node 20, `execArgv: ['--import', 'tsx']` does not
// apply the loader to a worker's entry module (ERR_UNKNOWN_FILE_EXTENSION), so the worker starts
// here, registers tsx's ESM hooks in its own thread, then imports the real .ts entry.
// (Background work does not run in worker threads: see src/jobs/background-process.ts.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
