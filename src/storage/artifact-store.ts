// Where recordings, checkpoints and task packs live: a key → bytes store with SHA-256 on write, so
// the audit stage can check every artifact of the chain. Local disk and NATS object store.
import { createHash } from 'node:crypto';
import { StorageError, StorageErrorCode } from './errors.js';

export type ArtifactBody = Uint8Array | AsyncIterable<Uint8Array>;

export interface PutResult {
  /** SHA-256 (hex) of the stored bytes. */
  readonly sha256: string;
  readonly size: number;
}

export interface ArtifactStore {
  /** Stores atomically: a reader sees the old object or the whole new one, never a part. */
  put(key: string, body: ArtifactBody): Promise<PutResult>;
  /** Throws StorageError(ARTIFACT_NOT_FOUND) for a missing key. */
  get(key: string): Promise<Uint8Array>;
  has(key: string): Promise<boolean>;
  /** Keys starting with `prefix` (plain string prefix), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Stores a local file that is never written again (a finalised recording). A store on the same disk
   * links it instead of copying, so the bytes exist once; without this method, callers `put` a stream.
   */
  putFile?(key: string, path: string): Promise<PutResult>;
}

/** Default cap on one artifact (a 10-minute session recording is ~50 MB). */
export const DEFAULT_MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024;
const MAX_KEY_LENGTH = 512;
// Segments start alphanumeric: no '.', '..', hidden files or a leading '/', so a key can never
// escape the store root nor collide with the store's own temp files.
const KEY_PATTERN = /^[A-Za-z0-9][\w.=-]*(\/[A-Za-z0-9][\w.=-]*)*$/;

export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new StorageError(
      StorageErrorCode.ARTIFACT_BAD_KEY,
      `bad artifact key ${JSON.stringify(key)}: '/'-separated segments of [A-Za-z0-9_.=-], each starting alphanumeric, at most ${MAX_KEY_LENGTH} chars`,
    );
  }
  return key;
}

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH || !/^[\w./=-]*$/.test(prefix)) {
    throw new StorageError(StorageErrorCode.ARTIFACT_BAD_KEY, `bad artifact prefix ${JSON.stringify(prefix)}`);
  }
  return prefix;
}

/** Normalises a body to chunks, hashing and counting as they pass and enforcing `maxBytes`. */
export async function* meter(body: ArtifactBody, maxBytes: number, into: { sha256: string; size: number }, key: string): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  const chunks = body instanceof Uint8Array ? [body] : body;
  for await (const chunk of chunks) {
    if (!(chunk instanceof Uint8Array)) throw new StorageError(StorageErrorCode.ARTIFACT_IO, `artifact ${key}: stream yielded a non-binary chunk`);
    size += chunk.length;
    if (size > maxBytes) throw new StorageError(StorageErrorCode.ARTIFACT_TOO_LARGE, `artifact ${key} exceeds ${maxBytes} bytes`);
    hash.update(chunk);
    yield chunk;
  }
  into.size = size;
  into.sha256 = hash.digest('hex');
}

export function notFound(key: string): StorageError {
  return new StorageError(StorageErrorCode.ARTIFACT_NOT_FOUND, `no artifact ${JSON.stringify(key)}`);
}
