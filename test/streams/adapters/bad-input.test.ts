import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, AdapterErrorCode } from '../../../streams/errors.js';
import { readRecording } from '../../../streams/adapters/read-recording.js';
import { hasMotionData, motion } from '../../helpers/motion-data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapters-bad-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, data: string | Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, data);
  return p;
}

/** Reads and returns the AdapterError; fails the test on success or any other exception. */
async function adapterError(path: string): Promise<AdapterError> {
  try {
    await readRecording(path);
  } catch (err) {
    expect(err).toBeInstanceOf(AdapterError);
    return err as AdapterError;
  }
  throw new Error(`${path} was read without an error`);
}

describe('readRecording: bad input gets a coded AdapterError naming the file', () => {
  it('missing file, directory, empty file', async () => {
    expect((await adapterError(join(dir, 'nope.trc'))).code).toBe(AdapterErrorCode.NOT_FOUND);
    await mkdir(join(dir, 'folder.c3d'));
    expect((await adapterError(join(dir, 'folder.c3d'))).code).toBe(AdapterErrorCode.IS_DIRECTORY);
    const e = await adapterError(await write('empty.bvh', ''));
    expect(e.code).toBe(AdapterErrorCode.EMPTY);
    expect(e.message).toContain('empty.bvh');
  });

  it('a PNG, a JSON of the wrong shape, random text', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    const e1 = await adapterError(await write('picture.png', png));
    expect(e1.code).toBe(AdapterErrorCode.UNKNOWN_FORMAT);
    expect(e1.file).toBe('picture.png');
    expect((await adapterError(await write('weird.json', '{"hello": [1, 2, 3]}'))).code).toBe(AdapterErrorCode.UNKNOWN_FORMAT);
    expect((await adapterError(await write('notes.txt', 'just some words\nand more'))).code).toBe(AdapterErrorCode.UNKNOWN_FORMAT);
  });

  describe.skipIf(!hasMotionData)('damaged copies of real recordings', () => {
    it('a C3D cut mid-data is TRUNCATED and says how many frames are there', async () => {
      const bytes = await readFile(motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'));
      const e = await adapterError(await write('cut.c3d', bytes.subarray(0, bytes.length >> 1)));
      expect(e.code).toBe(AdapterErrorCode.TRUNCATED);
      expect(e.message).toMatch(/cut\.c3d: .*\d+ of 4500 declared frames/);
    });

    it('a C3D with an unknown processor byte, or Intel data labelled DEC, is MALFORMED naming the processor', async () => {
      const bytes = Buffer.from(await readFile(motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d')));
      const at = ((bytes[0] ?? 2) - 1) * 512 + 3;
      bytes[at] = 99;
      const e = await adapterError(await write('proc99.c3d', bytes));
      expect(e.code).toBe(AdapterErrorCode.MALFORMED);
      expect(e.message).toMatch(/unknown processor type 99/);
      bytes[at] = 85; // DEC files are read, so Intel floats read as VAX floats must fail loudly
      const d = await adapterError(await write('dec.c3d', bytes));
      expect(d.code).toBe(AdapterErrorCode.MALFORMED);
      expect(d.message).toMatch(/read as a dec file/);
    });

    it('a TRC cut mid-record or with fewer frames than declared is TRUNCATED', async () => {
      const text = await readFile(motion('opensim-gait', 'subject01_static.trc'), 'utf8');
      const midRecord = text.slice(0, Math.floor(text.length * 0.6));
      expect((await adapterError(await write('mid.trc', midRecord.replace(/\t[^\t]*$/, '')))).code).toBe(AdapterErrorCode.TRUNCATED);
      const lines = text.split('\n');
      expect((await adapterError(await write('short.trc', lines.slice(0, 100).join('\n') + '\n'))).code).toBe(AdapterErrorCode.TRUNCATED);
    });

    it('a trial without knee markers and no static trial beside it is MISSING_MARKER', async () => {
      const e = await adapterError(await write('walk.trc', await readFile(motion('opensim-gait', 'subject01_walk1.trc'))));
      expect(e.code).toBe(AdapterErrorCode.MISSING_MARKER);
      expect(e.message).toMatch(/knee/);
    });

    it('a TRC without the R.ASIS column is MISSING_MARKER naming the marker and the file', async () => {
      const text = await readFile(motion('opensim-gait', 'subject01_static.trc'), 'utf8');
      const e = await adapterError(await write('noasis.trc', text.replace('R.ASIS', 'R.Something')));
      expect(e.code).toBe(AdapterErrorCode.MISSING_MARKER);
      expect(e.message).toMatch(/^noasis\.trc: .*R\.ASIS/);
    });

    it('NaN-only data is EMPTY; mm data declared as metres is IMPLAUSIBLE', async () => {
      const text = await readFile(motion('opensim-gait', 'subject01_walk1.trc'), 'utf8');
      const lines = text.split('\n');
      const nanOnly = lines
        .map((l, i) =>
          i >= 6 && l.trim() !== ''
            ? l
                .split('\t')
                .map((c, k) => (k < 2 ? c : 'nan'))
                .join('\t')
            : l,
        )
        .join('\n');
      expect((await adapterError(await write('nan.trc', nanOnly))).code).toBe(AdapterErrorCode.EMPTY);
      const stat = (await readFile(motion('opensim-gait', 'subject01_static.trc'), 'utf8')).split('\n');
      const metres = stat.map((l, i) => (i === 2 ? l.replace('\tmm\t', '\tm\t') : l)).join('\n');
      const e = await adapterError(await write('scale.trc', metres));
      expect(e.code).toBe(AdapterErrorCode.IMPLAUSIBLE);
      expect(e.message).toMatch(/wrong units/);
    });
  });
});

describe('readRecording never throws anything but AdapterError', () => {
  const outcome = async (path: string): Promise<'recording' | 'adapter-error'> => {
    try {
      const rec = await readRecording(path);
      expect(rec.frames.length).toBeGreaterThan(0);
      return 'recording';
    } catch (err) {
      if (err instanceof AdapterError) return 'adapter-error';
      throw err;
    }
  };

  it('random bytes (also with a C3D or text magic in front)', async () => {
    const prefixes = [new Uint8Array(), Uint8Array.from([2, 0x50]), new TextEncoder().encode('PathFileType\t4\n'), new TextEncoder().encode('HIERARCHY\n')];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...prefixes),
        fc.uint8Array({ maxLength: 3000 }),
        fc.constantFrom('.c3d', '.trc', '.bvh', '.bin', '.json'),
        async (prefix, body, ext) => {
          const bytes = new Uint8Array(prefix.length + body.length);
          bytes.set(prefix);
          bytes.set(body, prefix.length);
          await outcome(await write(`fuzz${ext}`, bytes));
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });

  it.skipIf(!hasMotionData)('truncations and byte flips of real files', async () => {
    const files = await Promise.all(
      [
        motion('fukuchi-treadmill', 'fukuchi_WBDS19walkT01.c3d'),
        motion('shida-pd-gait', 'figshare_pd_SUB05_off_walk_8.c3d'),
        motion('camargo-levelground', 'levelground_ccw_fast_01_01.trc'),
        motion('cmu-bvh', '131_01.bvh'),
        motion('ui-prmd', 'vicon', 'm01_s01_e01_positions.txt'),
      ].map((f) => readFile(f)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: files.length - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat({ max: 4096 }),
        fc.nat({ max: 255 }),
        async (which, cut, flipAt, flipTo) => {
          const src = files[which]!;
          const bytes = Buffer.from(src.subarray(0, Math.floor(src.length * cut)));
          if (flipAt < bytes.length) bytes[flipAt] = flipTo;
          const name = ['cut.c3d', 'cut.c3d', 'cut.trc', 'cut.bvh', 'cut_positions.txt'][which]!;
          await outcome(await write(name, bytes));
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
});
