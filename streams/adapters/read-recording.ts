// One entry point for every recording file: detect (or take) the format, dispatch to its adapter.
import { AdapterError, AdapterErrorCode } from '../errors.js';
import type { Recording, SourceFormat } from '../types.js';
import { readBvh } from './bvh.js';
import { readC3d } from './c3d.js';
import { readSource, type SourceFile } from './common.js';
import { detectFormat } from './detect.js';
import { readGeneric, type GenericOptions } from './generic.js';
import { attachScores, findScoresBeside, readScores } from './scores.js';
import { readTrc } from './trc.js';
import { readUiprmdKinect, readUiprmdVicon } from './uiprmd.js';
import { readVideoPose, type VideoPoseOptions } from './videopose.js';

export interface ReadRecordingOptions extends GenericOptions, VideoPoseOptions {
  readonly format?: 'auto' | SourceFormat;
  /** Scores file to attach; by default `<stem>_scores.json|csv` beside the recording, if any. */
  readonly scores?: string;
}

async function dispatch(source: SourceFile, format: SourceFormat, opts: ReadRecordingOptions): Promise<Recording> {
  switch (format) {
    case 'trc':
      return readTrc(source, opts);
    case 'c3d':
      return readC3d(source, opts);
    case 'bvh':
      return readBvh(source, opts);
    case 'uiprmd-kinect':
      return readUiprmdKinect(source, opts);
    case 'uiprmd-vicon':
      return readUiprmdVicon(source, opts);
    case 'videopose3d':
      return readVideoPose(source, opts);
    case 'csv':
    case 'json':
      return readGeneric(source, format, opts);
    case 'scores':
      throw new AdapterError(AdapterErrorCode.UNKNOWN_FORMAT, source.name, 'is an assessment-scores file, not a recording (use readScores/attachScores)');
    case 'arkit':
      throw new AdapterError(AdapterErrorCode.UNKNOWN_FORMAT, source.name, 'ARKit frames arrive live (streams/adapt.ts), not as a file');
  }
}

/**
 * Reads any supported recording into a Recording (canonical joints, metres, y up, right-handed,
 * resampled to `fps`). Every failure is an AdapterError with a code and the file name.
 */
export async function readRecording(path: string, opts: ReadRecordingOptions = {}): Promise<Recording> {
  const source = await readSource(path);
  const format = !opts.format || opts.format === 'auto' ? detectFormat(source.name, source.bytes) : opts.format;
  if (!format)
    throw new AdapterError(
      AdapterErrorCode.UNKNOWN_FORMAT,
      source.name,
      'is not a recognised recording (TRC, C3D, BVH, UI-PRMD, VideoPose3D, CSV/JSON skeleton)',
    );
  let rec: Recording;
  try {
    rec = await dispatch(source, format, opts);
  } catch (err) {
    if (err instanceof AdapterError) throw err;
    // Any other exception is a parser defect meeting odd bytes: still reported as this file's error.
    throw new AdapterError(AdapterErrorCode.MALFORMED, source.name, `cannot be read as ${format}: ${(err as Error).message}`, { cause: err });
  }
  const scoresPath = opts.scores ?? (await findScoresBeside(path));
  if (!scoresPath) return rec;
  const { scores, provenance } = await readScores(scoresPath);
  return attachScores(rec, scores, provenance);
}
