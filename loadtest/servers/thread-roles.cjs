/* global process, require */
/* eslint-disable @typescript-eslint/no-require-imports -- a --require preload is CommonJS: it has to run before
   node's ESM loader, whose async file reads would start libuv's pool before the snapshot below. */
// Preloaded (`node --require`) into a benchmarked server and into each of its worker threads, so the
// bench can charge CPU to thread roles without guessing: on Linux every thread of a node process is
// named "node". Each thread writes what it knows about itself into $BENCH_THREAD_ROLES (a directory):
//  - the main thread, before any user code: its own tid; the threads already running (V8 platform
//    workers for GC and concurrent JIT, plus node's idle signal-watchdog thread) as "background"; then it
//    starts libuv's thread pool with one async fs call — libuv creates all pool threads synchronously in
//    that call — and records the new threads as "fs" (only if their count is the pool size, else none:
//    they then count as "other" and the bench says so);
//  - a worker thread: its tid, as "inference" when its workerData.init.engineModule is the engine module
//    the server named in $BENCH_INFERENCE_ENGINE, otherwise "worker" (e.g. tsx's module-loader threads).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const wt = require('node:worker_threads');

const dir = process.env.BENCH_THREAD_ROLES;
if (dir) {
  const tasks = () => fs.readdirSync('/proc/self/task').map(Number);
  const self = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  if (wt.isMainThread) {
    const before = tasks();
    fs.stat('/', () => {});
    const pool = tasks().filter((t) => !before.includes(t));
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE || 4);
    const roles = { main: [self], background: before.filter((t) => t !== self), fs: pool.length === poolSize ? pool : [] };
    fs.writeFileSync(path.join(dir, `main-${self}.json`), JSON.stringify(roles));
  } else {
    // The inference pool hands each worker its engine module as workerData.init.engineModule.
    const init = wt.workerData && wt.workerData.init;
    const engine = init && typeof init.engineModule === 'string' ? init.engineModule : null;
    const role = engine !== null && engine === process.env.BENCH_INFERENCE_ENGINE ? 'inference' : 'worker';
    fs.writeFileSync(path.join(dir, `worker-${self}.json`), JSON.stringify({ [role]: [self] }));
  }
}
