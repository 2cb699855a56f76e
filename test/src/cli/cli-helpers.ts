import type { CliIo } from '../../../src/cli/io.js';

/** Runs CLI commands in-process with captured output. */
export function captureIo(env: Record<string, string | undefined> = {}): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env,
    isTty: false,
    stdout: () => out,
    stderr: () => err,
  };
}
