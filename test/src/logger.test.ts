import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { createJsonLogger, silentLogger } from '../../src/logger.js';
import { StorageError, StorageErrorCode } from '../../src/storage/errors.js';

it('writes one JSON object per line, filters by level and flattens errors with code and cause', () => {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (d: Buffer) => chunks.push(d.toString()));
  const log = createJsonLogger(out, { level: 'info', base: { node: 'n1' }, now: () => 0 });
  log.debug('hidden');
  const err = new StorageError(StorageErrorCode.LOG_IO, 'fsync failed', { cause: new Error('EIO') });
  log.error('append failed', { seq: 7, error: err, big: 2n });
  log.info('ok');
  const lines = chunks
    .join('')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toEqual([
    {
      time: '1970-01-01T00:00:00.000Z',
      level: 'error',
      msg: 'append failed',
      node: 'n1',
      seq: 7,
      big: '2',
      error: { name: 'StorageError', message: 'fsync failed', code: 'STORAGE_LOG_IO', cause: { name: 'Error', message: 'EIO' } },
    },
    { time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'ok', node: 'n1' },
  ]);
  expect(() => silentLogger.error('x', { a: 1 })).not.toThrow();
});
