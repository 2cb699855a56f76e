// ArtifactStore on a NATS JetStream object store bucket: chunked, replicated with the cluster, and
// shared by every node (recordings uploaded by one server are read by any job worker).
//
// Listing: the object store can only list its whole bucket (every object's meta entry, under a
// base64 subject a prefix cannot filter). So each put also writes an index entry to a KV bucket
// (`<bucket>-index`) whose key is the artifact key with '/' as the subject separator: `list(prefix)`
// asks the server for the keys under the prefix's whole segments (`a.b.>`), which reads only those
// index entries, and trims a partial last segment locally. The index of a bucket that existed before
// it is built once from a full listing, on the first open that finds it unmarked.
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { StorageError, StorageErrorCode } from './errors.js';
import { DEFAULT_MAX_ARTIFACT_BYTES, checkKey, checkPrefix, meter, notFound, type ArtifactBody, type ArtifactStore, type PutResult } from './artifact-store.js';

export const DEFAULT_ARTIFACT_BUCKET = 'jepa-artifacts';
/**
 * Reads are tried this many times. With one server of a cluster down, some JetStream requests of a
 * read (the consumer a blob or listing is read through) time out for a while after the failover
 * (measured on nats-server 2.9: ~1 in 6); a read is idempotent, so it is simply asked again.
 */
export const READ_ATTEMPTS = 3;

async function reading<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (cause) {
      if (attempt >= READ_ATTEMPTS) throw cause;
    }
  }
}

/** Marks an index built from the bucket; '_' never starts an encoded artifact key (segments start alphanumeric). */
const INDEX_BUILT = '_built';

export const indexBucketOf = (bucket: string): string => `${bucket}-index`;

/** Artifact key → KV key: segments become subject tokens, so '.' and '=' inside one are escaped. */
export function indexKeyOf(key: string): string {
  return key
    .split('/')
    .map((seg) => seg.replaceAll('=', '=3D').replaceAll('.', '=2E'))
    .join('.');
}

function keyOfIndex(k: string): string {
  return k
    .split('.')
    .map((tok) => tok.replace(/=(2E|3D)/g, (_, c: string) => (c === '2E' ? '.' : '=')))
    .join('/');
}

/** The KV filter covering every key that starts with `prefix`: its whole segments, then anything. */
function indexFilterOf(prefix: string): string | undefined {
  const whole = prefix.split('/').slice(0, -1);
  // A whole segment no key can have (empty, or not starting alphanumeric): nothing is under it.
  if (whole.some((seg) => !/^[A-Za-z0-9][\w.=-]*$/.test(seg))) return undefined;
  return whole.length === 0 ? '>' : `${indexKeyOf(whole.join('/'))}.>`;
}

export interface NatsArtifactStoreOptions {
  readonly bucket?: string;
  /** Replicas when the bucket is created (JetStream cluster size, 1–5). Default 1. */
  readonly replicas?: number;
  readonly maxBytes?: number;
}

export class NatsArtifactStore implements ArtifactStore {
  private constructor(
    private readonly os: ObjectStore,
    private readonly index: KV,
    private readonly maxBytes: number,
  ) {}

  /** Opens the bucket and its index, creating them when missing (and building the index once). */
  static async open(nc: NatsConnection, opts: NatsArtifactStoreOptions = {}): Promise<NatsArtifactStore> {
    const bucket = opts.bucket ?? DEFAULT_ARTIFACT_BUCKET;
    try {
      const replicas = opts.replicas ?? 1;
      const os = await new Objm(nc).create(bucket, { replicas });
      // History 1: an index entry is only "this key exists" (its value the SHA-256 of the last put).
      const index = await new Kvm(nc).create(indexBucketOf(bucket), { replicas, history: 1 });
      if ((await index.get(INDEX_BUILT)) === null) {
        // Objects stored before the index existed; puts from other nodes meanwhile index themselves.
        for (const info of await reading(() => os.list())) if (!info.deleted) await index.put(indexKeyOf(info.name), info.digest);
        await index.put(INDEX_BUILT, new Date().toISOString());
      }
      return new NatsArtifactStore(os, index, opts.maxBytes ?? DEFAULT_MAX_ARTIFACT_BYTES);
    } catch (cause) {
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot open object store bucket ${bucket}`, { cause });
    }
  }

  async put(key: string, body: ArtifactBody): Promise<PutResult> {
    checkKey(key);
    const result = { sha256: '', size: 0 };
    const chunks = meter(body, this.maxBytes, result, key);
    const rs = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        try {
          const n = await chunks.next();
          if (n.done) ctl.close();
          else ctl.enqueue(n.value);
        } catch (e) {
          ctl.error(e);
        }
      },
    });
    try {
      // The object store publishes the new chunks, then swaps the meta entry: readers see the old
      // or the new object, and a failed put purges its own chunks.
      const info = await this.os.put({ name: key }, rs);
      const digest = Buffer.from(info.digest.replace(/^SHA-256=/, ''), 'base64url').toString('hex');
      if (digest !== result.sha256 || info.size !== result.size) {
        throw new StorageError(StorageErrorCode.ARTIFACT_IO, `artifact ${key}: store digest ${digest} differs from ${result.sha256}`);
      }
      // After the object: a listed key is always readable. If this fails the put fails, and its
      // retry (same key, same bytes) writes both again.
      await this.index.put(indexKeyOf(key), result.sha256);
      return result;
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      const inner = (cause as { cause?: unknown }).cause;
      if (inner instanceof StorageError) throw inner;
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot store artifact ${key}`, { cause });
    }
  }

  async get(key: string): Promise<Uint8Array> {
    checkKey(key);
    let data: Uint8Array | null;
    try {
      data = await reading(() => this.os.getBlob(key));
    } catch (cause) {
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot read artifact ${key}`, { cause });
    }
    if (data === null) throw notFound(key);
    return data;
  }

  async has(key: string): Promise<boolean> {
    checkKey(key);
    try {
      const info = await reading(() => this.os.info(key));
      return info !== null && !info.deleted;
    } catch (cause) {
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot stat artifact ${key}`, { cause });
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const filter = indexFilterOf(prefix);
    if (filter === undefined) return [];
    try {
      const keys = await reading(async () => {
        const out: string[] = [];
        for await (const k of await this.index.keys(filter)) if (!k.startsWith('_')) out.push(keyOfIndex(k));
        return out;
      });
      return keys.filter((k) => k.startsWith(prefix)).sort();
    } catch (cause) {
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot list artifacts under ${prefix}`, { cause });
    }
  }
}
