import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLOSE_CODES,
  CLOSE_CODE_DESCRIPTIONS,
  CloseCode,
  ERROR_CODES,
  ERROR_CODE_DESCRIPTIONS,
  ErrorCode,
  renderCloseCodeTable,
  renderErrorCodeTable,
} from '../../../src/protocol/index.js';
import { repoRoot } from '../../helpers/motion-data.js';

describe('codes', () => {
  it('error code values equal their keys and each has a one-line description', () => {
    for (const [k, v] of Object.entries(ErrorCode)) expect(v).toBe(k);
    expect(ERROR_CODES).toHaveLength(Object.keys(ERROR_CODE_DESCRIPTIONS).length);
    for (const c of ERROR_CODES) expect(ERROR_CODE_DESCRIPTIONS[c]).toMatch(/^[^\n|]{10,200}$/);
  });

  it('close codes are 4000–4999 except NORMAL, unique, each described', () => {
    const values = CLOSE_CODES.map((c) => c.code);
    expect(new Set(values).size).toBe(values.length);
    for (const { name, code } of CLOSE_CODES) {
      if (name === 'NORMAL') expect(code).toBe(1000);
      else expect(code >= 4000 && code <= 4999).toBe(true);
      expect(CLOSE_CODE_DESCRIPTIONS[name]).toMatch(/^[^\n|]{10,200}$/);
    }
    expect(CloseCode).toMatchObject({
      NORMAL: 1000,
      SHUTDOWN: 4000,
      UNAUTHORIZED: 4001,
      INVALID_PAYLOAD: 4002,
      SLOW_CONSUMER: 4003,
      UNSUPPORTED_PROTOCOL: 4004,
      RATE_LIMIT: 4005,
      RESUME_FAILED: 4006,
    });
  });

  it('tables have one row per code', () => {
    expect(renderErrorCodeTable().split('\n')).toHaveLength(ERROR_CODES.length + 2);
    expect(renderCloseCodeTable().split('\n')).toHaveLength(CLOSE_CODES.length + 2);
    expect(renderCloseCodeTable()).toContain('| 4003 | `SLOW_CONSUMER` |');
  });
});

// README.md (repo root) must list exactly the codes the server sends: paste the rendered tables there.
describe('README lists the wire codes', () => {
  const readme = join(repoRoot, 'README.md');
  const text = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  it('contains the error code table', () => expect(text).toContain(renderErrorCodeTable()));
  it('contains the close code table', () => expect(text).toContain(renderCloseCodeTable()));
});
