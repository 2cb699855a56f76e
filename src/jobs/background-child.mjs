// Entry of a background process (started by ./background-process.ts). Every thread of this process
// drops to background priority FIRST — before tsx, tfjs or vega are loaded — so V8's garbage-collector
// and compiler helpers, which a worker thread would share with the frame thread at normal priority,
// run at the lowest priority here too. Threads started later inherit it (Linux copies a thread's nice
// value and scheduling policy to the threads it creates).
//
// Two steps, the second where the system allows it: nice 19 (weight 15 against a frame thread's 1024),
// then Linux's SCHED_IDLE policy through util-linux `chrt` (weight 3, and a waking normal thread
// preempts it at once instead of waiting out the current slice). SCHED_IDLE ignores nice; nice stays
// as the fallback where `chrt` is missing.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

const NICE = 19;
let lowered = 0;
try {
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      setPriority(Number(tid), NICE);
      lowered += 1;
    } catch {
      // A thread that ended between the listing and the call: nothing to lower.
    }
  }
} catch {
  // No /proc (not Linux): the process as a whole is lowered; its helper threads may keep their priority.
  setPriority(process.pid, NICE);
}

let idle = false;
try {
  execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 5_000 });
  idle = true;
} catch {
  // No chrt here, or not allowed: nice 19 alone.
}

// The parent is gone (crashed, killed): background work has no one to report to.
process.on('disconnect', () => process.exit(0));
// The first message says what to run: { entry, data }. Listened for before the first await, since a
// message that arrives while nobody listens is dropped.
const start = new Promise((resolve) => process.once('message', resolve));

const { register } = await import('tsx/esm/api');
register();
const { entry, data } = await start;
// The entry reads `data` and talks to the parent through ./host-port.ts.
globalThis[Symbol.for('jepa-motion.background')] = { data, lowered, nice: NICE, idle };
try {
  await import(entry);
} catch (error) {
  process.stderr.write(`background process: cannot load ${entry}: ${error?.stack ?? error}\n`);
  process.exit(70);
}
