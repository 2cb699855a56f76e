// Assessment scores (a small JSON or CSV of named values) attached to a recording as meta.scores.
import { access } from 'node:fs/promises';
import { AdapterError, AdapterErrorCode } from '../errors.js';
import type { Provenance, Recording } from '../types.js';
import { readSource, type SourceFile } from './common.js';
import { decimalMark, decodeText, delimiterOf, parseNumber, splitFields } from './fields.js';

export type Scores = Readonly<Record<string, number | string>>;

const MAX_SCORES = 1000;

function checked(file: string, entries: [string, unknown][]): Record<string, number | string> {
  if (entries.length === 0) throw new AdapterError(AdapterErrorCode.EMPTY, file, 'has no scores');
  if (entries.length > MAX_SCORES) throw new AdapterError(AdapterErrorCode.MALFORMED, file, `has more than ${MAX_SCORES} scores`);
  const out: Record<string, number | string> = {};
  for (const [name, v] of entries) {
    if (name.trim() === '') throw new AdapterError(AdapterErrorCode.MALFORMED, file, 'a score has an empty name');
    if (typeof v === 'number' && Number.isFinite(v)) out[name] = v;
    else if (typeof v === 'string') out[name] = v;
    else throw new AdapterError(AdapterErrorCode.MALFORMED, file, `score "${name.slice(0, 40)}" is neither a finite number nor a string`);
  }
  return out;
}

/** JSON `{"scores": {name: value}}` or CSV `name,score` rows (numbers where they parse). */
export function parseScores(source: SourceFile): { scores: Scores; provenance: Provenance } {
  const text = decodeText(source.bytes);
  let scores: Scores;
  if (/^\s*[{[]/.test(text)) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, 'is not valid JSON', { cause: err });
    }
    const s = (doc as { scores?: unknown } | null)?.scores;
    if (!s || typeof s !== 'object' || Array.isArray(s))
      throw new AdapterError(AdapterErrorCode.UNKNOWN_FORMAT, source.name, 'is not a scores JSON ({"scores": {...}})');
    scores = checked(source.name, Object.entries(s));
  } else {
    // Read as the skeleton CSVs are: quoted cells (R's write.csv quotes every name), and semicolons
    // with decimal commas from spreadsheets in decimal-comma locales (`tug_s;9,5`).
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const delimiter = delimiterOf(lines[0] ?? '');
    const rows = lines.map((l) => splitFields(l, delimiter));
    const body = rows[0]?.[0]?.toLowerCase() === 'name' ? rows.slice(1) : rows;
    for (const [i, r] of body.entries())
      if (r.length !== 2) throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, `scores row ${i + 1} is not "name,value"`);
    const mark = decimalMark(
      body.map((r) => r[1] ?? ''),
      delimiter,
    );
    if (mark === null) throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, 'scores mix "." and "," as decimal marks');
    scores = checked(
      source.name,
      body.map(([k, v = '']) => {
        // A number where the cell is one; a missing-value spelling (NA) or any other text stays text.
        const n = v === '' ? undefined : parseNumber(v, mark);
        return [k ?? '', n !== undefined && Number.isFinite(n) ? n : v];
      }),
    );
  }
  return {
    scores,
    provenance: {
      file: source.path,
      sha256: source.sha256,
      format: 'scores',
      originalFps: 0,
      units: '',
      axes: '',
      jointMap: {},
      notes: [`${Object.keys(scores).length} assessment scores`],
    },
  };
}

export async function readScores(path: string): Promise<{ scores: Scores; provenance: Provenance }> {
  return parseScores(await readSource(path));
}

/** A copy of the recording with the scores merged into meta.scores and their file in provenance. */
export function attachScores(rec: Recording, scores: Scores, provenance?: Provenance): Recording {
  return {
    frames: rec.frames,
    meta: {
      ...rec.meta,
      scores: { ...(rec.meta.scores ?? {}), ...scores },
      provenance: provenance ? [...rec.meta.provenance, provenance] : rec.meta.provenance,
    },
  };
}

/** `<stem>_scores.json` or `<stem>_scores.csv` beside a recording, if there is one. */
export async function findScoresBeside(recordingPath: string): Promise<string | undefined> {
  const stem = recordingPath.replace(/\.[^./]+$/, '');
  for (const ext of ['.json', '.csv']) {
    try {
      await access(stem + '_scores' + ext);
      return stem + '_scores' + ext;
    } catch {
      // not there: try the next
    }
  }
  return undefined;
}
