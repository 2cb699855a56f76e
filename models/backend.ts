/**
 * Chooses the TensorFlow.js backend once per process (or per worker thread): tfjs-node-gpu when it is
 * installed and loads, else wasm (SIMD, threads when the runtime supports them), else the plain CPU
 * backend. Callers pass the preference (src/config.ts reads JEPA_BACKEND); nothing here reads env.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ModelError, ModelErrorCode } from './errors.js';

export type BackendPreference = 'tensorflow' | 'wasm' | 'cpu';

/** Why a backend was skipped, for the log line the caller writes. */
export interface BackendAttempt {
  readonly backend: BackendPreference;
  readonly ok: boolean;
  readonly reason?: string;
}

let attempts: BackendAttempt[] = [];

/** The active tfjs backend name ('tensorflow', 'wasm' or 'cpu'); null before selectBackend. */
export function activeBackend(): string | null {
  const name = tf.getBackend() as string | undefined;
  return name ?? null;
}

/** What the last selectBackend tried, in order, with the failure reasons. */
export function backendAttempts(): readonly BackendAttempt[] {
  return attempts;
}

/**
 * Initialises and activates a backend; returns its name. With a preference, that backend is tried
 * first and the others follow in the default order, so a GPU preference on a CPU host still works.
 */
export async function selectBackend(pref?: BackendPreference): Promise<string> {
  const order: BackendPreference[] = ['tensorflow', 'wasm', 'cpu'];
  const tryOrder = pref ? [pref, ...order.filter((b) => b !== pref)] : order;
  attempts = [];
  // PROD silences tfjs's console hints (e.g. the CPU backend's "install tfjs-node" banner): library
  // code never writes to the console; the caller logs the chosen backend instead.
  tf.env().set('PROD', true);
  for (const b of tryOrder) {
    const reason = await tryBackend(b);
    attempts.push(reason === null ? { backend: b, ok: true } : { backend: b, ok: false, reason });
    if (reason === null) return tf.getBackend();
  }
  throw new ModelError(
    ModelErrorCode.BACKEND_UNAVAILABLE,
    `no TensorFlow.js backend could be initialised: ${attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ')}`,
  );
}

async function tryBackend(b: BackendPreference): Promise<string | null> {
  try {
    if (b === 'tensorflow') {
      // Optional dependency: absent on most hosts. The specifier is a variable so bundlers and tsc do
      // not require it to exist.
      const spec = '@tensorflow/tfjs-node-gpu';
      await import(spec);
    } else if (b === 'wasm') {
      await loadWasm();
    } else {
      await import('@tensorflow/tfjs-backend-cpu');
    }
    if (tf.getBackend() === b) return null;
    const ok = await tf.setBackend(b);
    await tf.ready();
    return ok && tf.getBackend() === b ? null : `setBackend('${b}') returned false`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

async function loadWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Resolve the .wasm binaries from node_modules so initialisation works offline (no CDN fetch).
  const require = createRequire(import.meta.url);
  const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  wasm.setWasmPaths(dist);
  // Threads are used only when the runtime supports wasm threads (SharedArrayBuffer + workers);
  // Node without cross-origin isolation reports false and runs single-threaded SIMD.
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  if (threads === true) wasm.setThreadsCount(2);
}
