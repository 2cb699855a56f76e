// Format detection: content sniffing first (magic bytes, first keyword, column count), the file
// extension only to break ties, so a misnamed file is still read by the right adapter.
import { extname } from 'node:path';
import type { SourceFormat } from '../types.js';
import { decodeText, delimiterOf, splitFields } from './fields.js';
import { looksLikeSkeletonCsv } from './generic.js';
import { ZIP_MAGIC } from './npz.js';

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if (b === 0 || (b < 9 && b !== 0)) return true;
  }
  return false;
}

function firstLine(text: string): string {
  const m = /^\s*([^\r\n]*)/.exec(text);
  return (m?.[1] ?? '').trim();
}

/** Shape of a parsed JSON document → which JSON adapter reads it. */
export function jsonKind(doc: unknown): 'videopose3d' | 'json' | 'scores' | undefined {
  if (Array.isArray(doc)) {
    const f = doc[0];
    if (Array.isArray(f) && f.length === 17 && Array.isArray(f[0])) return 'videopose3d';
    if (f && typeof f === 'object' && !Array.isArray(f) && 't' in f) return 'json';
    return undefined;
  }
  if (doc && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    if (Array.isArray(o.keypoints)) return 'videopose3d';
    if (Array.isArray(o.frames)) return 'json';
    if (o.scores && typeof o.scores === 'object') return 'scores';
  }
  return undefined;
}

/** Best guess at the format of a file's bytes, or undefined when nothing fits. */
export function detectFormat(name: string, bytes: Uint8Array): SourceFormat | undefined {
  const ext = extname(name).toLowerCase();
  if (bytes.length >= 2 && bytes[1] === 0x50 && (bytes[0] ?? 0) >= 2 && (ext === '.c3d' || bytes.length >= 512)) return 'c3d';
  if (NPY_MAGIC.every((b, i) => bytes[i] === b)) return 'videopose3d';
  // A ZIP is an .npz when so named or when its first member is an .npy (numpy writes no folders).
  if (ZIP_MAGIC.every((b, i) => bytes[i] === b)) {
    const nameLen = bytes.length >= 30 ? (bytes[26] ?? 0) | ((bytes[27] ?? 0) << 8) : 0;
    const first = Buffer.from(bytes.subarray(30, 30 + nameLen)).toString('latin1');
    return ext === '.npz' || first.endsWith('.npy') ? 'videopose3d' : undefined;
  }
  if (looksBinary(bytes)) return undefined;
  const head = decodeText(bytes.subarray(0, 64 * 1024));
  const line = firstLine(head);
  if (line.startsWith('PathFileType')) return 'trc';
  if (/^HIERARCHY\b/.test(line)) return 'bvh';
  if (line.startsWith('{') || line.startsWith('[')) {
    try {
      return jsonKind(JSON.parse(decodeText(bytes)));
    } catch {
      return undefined;
    }
  }
  const cells = splitFields(line, delimiterOf(line));
  if (cells.length > 1 && cells.every((c) => c !== '' && Number.isFinite(Number(c)))) {
    // UI-PRMD text files have no header: 66 columns = Kinect (22 joints), 117 = Vicon (39 markers).
    if (cells.length === 66 && /_(positions|angles)/i.test(name)) return 'uiprmd-kinect';
    if (cells.length === 117) return 'uiprmd-vicon';
    return undefined;
  }
  const lower = cells.map((c) => c.toLowerCase());
  const rows = head
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(0, 3)
    .map((l) => splitFields(l, delimiterOf(line)));
  if (looksLikeSkeletonCsv(rows)) return 'csv';
  if (lower.includes('score') || lower.includes('name')) return 'scores';
  return undefined;
}
