// ArtifactStore on a NATS JetStream object store bucket: chunked, replicated with the cluster, and
// shared by every node (recordings uploaded by one server are read by any job worker).
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

export interface NatsArtifactStoreOptions {
  readonly bucket?: string;
  /** Replicas when the bucket is created (JetStream cluster size, 1–5). Default 1. */
  readonly replicas?: number;
  readonly maxBytes?: number;
}

export class NatsArtifactStore implements ArtifactStore {
  private constructor(
    private readonly os: ObjectStore,
    private readonly maxBytes: number,
  ) {}

  /** Opens the bucket, creating it when missing. */
  static async open(nc: NatsConnection, opts: NatsArtifactStoreOptions = {}): Promise<NatsArtifactStore> {
    const bucket = opts.bucket ?? DEFAULT_ARTIFACT_BUCKET;
    try {
      const os = await new Objm(nc).create(bucket, { replicas: opts.replicas ?? 1 });
      return new NatsArtifactStore(os, opts.maxBytes ?? DEFAULT_MAX_ARTIFACT_BYTES);
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
    try {
      return (await reading(() => this.os.list()))
        .filter((i) => !i.deleted && i.name.startsWith(prefix))
        .map((i) => i.name)
        .sort();
    } catch (cause) {
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot list artifacts under ${prefix}`, { cause });
    }
  }
}
