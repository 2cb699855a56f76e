// Stage 10 (audit): every artifact a run writes is listed with its SHA-256 in <dir>/manifest.json,
// so anyone can re-hash the directory and see that nothing changed since it was written.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_VERSION = 1;

export interface ManifestEntry {
  /** Path relative to the manifest's directory, with forward slashes. */
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  /** Pipeline stage that produced it, e.g. "0-adapter". */
  readonly stage: string;
}

export interface Manifest {
  readonly version: number;
  readonly tool: string;
  readonly created: string;
  readonly artifacts: readonly ManifestEntry[];
}

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Collects artifacts as they are written; `finish()` writes manifest.json last. */
export class ArtifactWriter {
  private readonly entries: ManifestEntry[] = [];
  constructor(
    readonly dir: string,
    private readonly tool: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async write(stage: string, path: string, content: Uint8Array | string): Promise<ManifestEntry> {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const target = join(this.dir, path);
    await mkdir(dirname(target), { recursive: true });
    // Write-then-rename so a crash never leaves a half-written artifact under its final name.
    await writeFile(`${target}.tmp`, bytes);
    await rename(`${target}.tmp`, target);
    const entry: ManifestEntry = { path: path.split(sep).join('/'), sha256: sha256(bytes), bytes: bytes.byteLength, stage };
    this.entries.push(entry);
    return entry;
  }

  async finish(): Promise<Manifest> {
    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      tool: this.tool,
      created: this.now().toISOString(),
      artifacts: [...this.entries].sort((a, b) => a.path.localeCompare(b.path)),
    };
    await writeFile(join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
}

export interface AuditProblem {
  readonly path: string;
  readonly problem: 'missing' | 'modified' | 'outside';
  readonly expected?: string;
  readonly actual?: string;
}

export class AuditError extends Error {
  override readonly name = 'AuditError';
  constructor(
    readonly code: 'AUDIT_NO_MANIFEST' | 'AUDIT_BAD_MANIFEST',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Re-hashes every artifact listed in <dir>/manifest.json; returns what does not match. */
export async function auditDirectory(dir: string): Promise<{ checked: number; problems: AuditProblem[] }> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new AuditError('AUDIT_NO_MANIFEST', `${manifestPath}: no manifest to audit`, { cause });
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
    if (!Array.isArray(manifest.artifacts)) throw new Error('artifacts is not a list');
  } catch (cause) {
    throw new AuditError('AUDIT_BAD_MANIFEST', `${manifestPath}: not a valid manifest (${(cause as Error).message})`, { cause });
  }
  const problems: AuditProblem[] = [];
  for (const entry of manifest.artifacts) {
    const rel = normalize(entry.path);
    // A manifest must not point outside its own directory (no ../ or absolute paths).
    if (isAbsolute(rel) || relative(dir, join(dir, rel)).startsWith('..')) {
      problems.push({ path: entry.path, problem: 'outside' });
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, rel));
    } catch {
      problems.push({ path: entry.path, problem: 'missing', expected: entry.sha256 });
      continue;
    }
    const actual = sha256(bytes);
    if (actual !== entry.sha256) problems.push({ path: entry.path, problem: 'modified', expected: entry.sha256, actual });
  }
  return { checked: manifest.artifacts.length, problems };
}
