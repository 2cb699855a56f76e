// NumPy `.npz` archives (np.savez / np.savez_compressed) for the readers: the zip itself is read by
// models/npz.ts (the same reader the stage-5 datasets use, ZIP64 member sizes included, every member's
// size and CRC checked); here its errors become the adapters' coded errors and only `.npy` members count.
import { NpzError, NpzErrorCode, zipMembers } from '../../models/npz.js';
import { AdapterError, AdapterErrorCode } from '../errors.js';

export const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]; // PK\3\4

/** Every member of an .npz archive whose name ends in `.npy`, by name without the suffix, decompressed. */
export function npzMembers(file: string, buf: Uint8Array): Map<string, Uint8Array> {
  let members: Map<string, Uint8Array>;
  try {
    members = zipMembers(buf);
  } catch (err) {
    if (!(err instanceof NpzError)) throw err;
    const code = err.code === NpzErrorCode.TRUNCATED ? AdapterErrorCode.TRUNCATED : AdapterErrorCode.MALFORMED;
    throw new AdapterError(code, file, `${code === AdapterErrorCode.TRUNCATED ? 'truncated' : 'not a usable'} .npz: ${err.message}`, { cause: err });
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, bytes] of members) if (name.endsWith('.npy')) out.set(name.slice(0, -4), bytes);
  return out;
}
