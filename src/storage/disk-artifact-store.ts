// Local-disk ArtifactStore: temp file + fsync + rename + directory fsync, so a crash leaves either
// the previous object or the complete new one.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { StorageError, StorageErrorCode } from './errors.js';
import { DEFAULT_MAX_ARTIFACT_BYTES, checkKey, checkPrefix, meter, notFound, type ArtifactBody, type ArtifactStore, type PutResult } from './artifact-store.js';
import { syncDir } from './recording-log.js';

const TMP = '.tmp';

export interface DiskArtifactStoreOptions {
  readonly maxBytes?: number;
}

export class DiskArtifactStore implements ArtifactStore {
  private readonly maxBytes: number;
  private constructor(
    readonly root: string,
    opts: DiskArtifactStoreOptions,
  ) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
  }

  /** Creates the root; removes temp files a crashed writer left behind. */
  static async open(root: string, opts: DiskArtifactStoreOptions = {}): Promise<DiskArtifactStore> {
    try {
      await rm(join(root, TMP), { recursive: true, force: true });
      await mkdir(join(root, TMP), { recursive: true });
    } catch (cause) {
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, 'cannot open artifact store', { cause, path: root });
    }
    return new DiskArtifactStore(root, opts);
  }

  async put(key: string, body: ArtifactBody): Promise<PutResult> {
    const path = join(this.root, checkKey(key));
    const tmp = join(this.root, TMP, randomUUID());
    const result = { sha256: '', size: 0 };
    try {
      const fh = await open(tmp, 'wx');
      try {
        for await (const chunk of meter(body, this.maxBytes, result, key)) await fh.write(chunk);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await mkdir(dirname(path), { recursive: true });
      await rename(tmp, path);
      await syncDir(dirname(path));
      return result;
    } catch (cause) {
      await rm(tmp, { force: true });
      if (cause instanceof StorageError) throw cause;
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot store artifact ${key}`, { cause, path });
    }
  }

  /**
   * A hard link to `path` (the embedded server's recordings live on the same disk): one copy of the
   * bytes under two names. Safe because the file is immutable and this store never writes in place
   * (a later put of the key renames a new file over the link). Another filesystem (EXDEV) → a copy.
   */
  async putFile(key: string, path: string): Promise<PutResult> {
    const dest = join(this.root, checkKey(key));
    const tmp = join(this.root, TMP, randomUUID());
    const result = { sha256: '', size: 0 };
    try {
      // Hashed like a put (the caller checks it against the finalised SHA-256), and bounded the same.
      for await (const chunk of meter(createReadStream(path) as AsyncIterable<Uint8Array>, this.maxBytes, result, key)) void chunk;
      try {
        await link(path, tmp);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'EXDEV') return await this.put(key, createReadStream(path) as AsyncIterable<Uint8Array>);
        throw cause;
      }
      await mkdir(dirname(dest), { recursive: true });
      await rename(tmp, dest);
      await syncDir(dirname(dest));
      return result;
    } catch (cause) {
      await rm(tmp, { force: true });
      if (cause instanceof StorageError) throw cause;
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot store artifact ${key}`, { cause, path: dest });
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const path = join(this.root, checkKey(key));
    try {
      return new Uint8Array(await readFile(path));
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw notFound(key);
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot read artifact ${key}`, { cause, path });
    }
  }

  async has(key: string): Promise<boolean> {
    const path = join(this.root, checkKey(key));
    try {
      return (await stat(path)).isFile();
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot stat artifact ${key}`, { cause, path });
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    // Walk only the subtree the prefix can match. (`parentPath` is Node >= 20.12; `path` before.)
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    let entries: string[];
    try {
      entries = (await readdir(join(this.root, base), { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile())
        .map((d) =>
          join(d.parentPath ?? d.path, d.name)
            .slice(this.root.length + 1)
            .split(sep)
            .join('/'),
        );
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new StorageError(StorageErrorCode.ARTIFACT_IO, `cannot list artifacts under ${prefix}`, { cause, path: this.root });
    }
    return entries.filter((k) => !k.startsWith(`${TMP}/`) && k.startsWith(prefix)).sort();
  }
}
