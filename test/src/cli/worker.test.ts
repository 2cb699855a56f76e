// `jepa-motion worker`: argument parsing and every failure path ends with its exit code.
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { parseWorkerArgs } from '../../../src/cli/worker.js';
import { captureIo } from './cli-helpers.js';

describe('jepa-motion worker', () => {
  it('takes --jobs and --concurrency, and leaves every other flag to the configuration', () => {
    expect(parseWorkerArgs([])).toEqual({ kinds: ['retrain', 'taskpack'], concurrency: undefined, rest: [] });
    expect(parseWorkerArgs(['--jobs', 'retrain', '--concurrency=3', '--nats', 'nats://h:4222', '--model', '/m'])).toEqual({
      kinds: ['retrain'],
      concurrency: 3,
      rest: ['--nats', 'nats://h:4222', '--model', '/m'],
    });
  });

  it.each([
    [['--jobs', 'retrain,bogus'], '--jobs retrain,bogus: unknown job kind bogus (known: retrain, taskpack)'],
    [['--concurrency', '0'], '--concurrency 0: must be an integer from 1 to 16'],
    [['--concurrency', 'many'], '--concurrency many: must be an integer from 1 to 16'],
    [['--jobs'], '--jobs needs a value'],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const io = captureIo();
    expect(await main(['worker', ...args], io)).toBe(2);
    expect(io.stderr()).toContain(`jepa-motion worker: ${message}`);
  });

  it('refuses to start without NATS (exit 1, one line naming the setting)', async () => {
    const io = captureIo();
    expect(await main(['worker'], io)).toBe(1);
    expect(io.stderr()).toMatch(/^jepa-motion worker: jepa-motion worker needs NATS_URL \(or --nats\).*\[CONFIG_CONTRADICTION\]\n$/);
  });

  it('exits 1 when NATS cannot be reached', async () => {
    const io = captureIo();
    // A port nothing listens on (the reserved port 1 on loopback).
    expect(await main(['worker', '--nats', 'nats://127.0.0.1:1'], io)).toBe(1);
    expect(io.stderr()).toMatch(/^jepa-motion worker: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: .*\[JOB_NATS\]\n$/);
  });

  it('is listed in the usage', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout()).toContain('jepa-motion worker [--jobs retrain,taskpack] [--concurrency N]');
  });
});
