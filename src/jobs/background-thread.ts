// Background work (training, task-pack builds) runs in worker threads at the lowest CPU priority, so on
// a busy box the threads answering frames win every contended time slice and background work takes
// what is left. Linux lets one thread's priority be set through its thread id (/proc/thread-self);
// elsewhere the thread keeps the process's priority and the caller says so.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export const BACKGROUND_THREAD_NICE = 19;

/** Lowers the calling thread's priority to BACKGROUND_THREAD_NICE: its thread id, or why it could not. */
export function lowerThreadPriority(): { readonly tid: number } | { readonly error: unknown } {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) throw new Error('no thread id in /proc/thread-self');
    setPriority(tid, BACKGROUND_THREAD_NICE);
    return { tid };
  } catch (error) {
    return { error };
  }
}
