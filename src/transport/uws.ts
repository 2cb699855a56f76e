// Loads uWebSockets.js's native binary directly. The package entry (src/uws.js) silently falls back to a
// slow pure-JS implementation (and writes to the console) when the binary does not load; a live server
// at 60 Hz × many sessions must not run on that, so we load the .node file ourselves and refuse to start.
import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

export type UwsModule = typeof Uws;

/** The process cannot serve: a native dependency failed to load, or a port could not be bound. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    readonly code: 'UWS_NATIVE_LOAD' | 'UWS_NOT_NATIVE' | 'LISTEN_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface UwsHost {
  readonly platform: string;
  readonly arch: string;
  /** Node's ABI version (process.versions.modules), part of the binary's file name. */
  readonly modules: string;
  /** glibc version when known (process.report header), for the error message only. */
  readonly glibc?: string;
}

export function currentHost(): UwsHost {
  return { platform: process.platform, arch: process.arch, modules: process.versions.modules };
}

/** glibc of this process; only computed on the failure path (a diagnostic report is not free). */
function runtimeGlibc(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? 'unknown (not glibc)';
}

/** Package-relative path of the native binary for a host. */
export function uwsBinaryPath(host: UwsHost): string {
  return `uWebSockets.js/binaries/uws_${host.platform}_${host.arch}_${host.modules}.node`;
}

const requireFromHere = createRequire(import.meta.url);

/**
 * Loads the native uWS binary for `host` (default: this process) or throws StartupError naming the file,
 * the Node ABI and glibc. `load` is injectable so the failure path is testable without a broken install.
 */
export function loadUws(host: UwsHost = currentHost(), load: (id: string) => unknown = requireFromHere): UwsModule {
  const id = uwsBinaryPath(host);
  let mod: unknown;
  try {
    mod = load(id);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new StartupError(
      'UWS_NATIVE_LOAD',
      `uWebSockets.js native binary ${id} failed to load (Node ${process.version}, ABI ${host.modules}, ` +
        `${host.platform}/${host.arch}, glibc ${host.glibc ?? runtimeGlibc()}): ${why}. ` +
        'Refusing to use the slow JS fallback: install a uWebSockets.js build that ships this binary, or run a Node version it supports.',
      { cause },
    );
  }
  // The JS fallback (dist/index.js) exports only App, _cfg and the listen-socket helpers; SSLApp and
  // getParts exist only in the native module.
  const m = mod as Partial<UwsModule> | null;
  if (m === null || typeof m !== 'object' || typeof m.App !== 'function' || typeof m.SSLApp !== 'function' || typeof m.getParts !== 'function') {
    throw new StartupError('UWS_NOT_NATIVE', `${id} loaded but is not the native uWebSockets.js module (no SSLApp/getParts)`);
  }
  return m as UwsModule;
}
