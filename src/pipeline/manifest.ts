// Stage 10 (audit): every artifact a run writes is listed with its SHA-256 in <dir>/manifest.json,
// so anyone can re-hash the directory and see that nothing changed since it was written.
// A task pack's manifest also carries the CHAIN: per stage, the SHA-256 of each input it was computed
// from (recording → states → dataset → model → variants → pack). Re-hashing alone cannot tell an
// artifact that was replaced AND re-listed in the manifest; the chain can, because the next stage still
// names the hash of what it actually read. Inputs from outside the pack (the recording file, the model
// checkpoint) are checked against the artifact that declares them (their hash must appear in it).
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

/** One input of a stage: an artifact of the pack (path) or an outside input declared in an artifact. */
export interface ChainInput {
  readonly name: string;
  readonly sha256: string;
  /** Path of the input artifact inside the pack. */
  readonly path?: string;
  /** For an outside input: the pack artifact that records its hash (e.g. the recording's provenance). */
  readonly declared_in?: string;
}

export interface ChainLink {
  readonly stage: string;
  readonly inputs: readonly ChainInput[];
  readonly outputs: readonly string[];
}

export interface Manifest {
  readonly version: number;
  readonly tool: string;
  readonly created: string;
  readonly artifacts: readonly ManifestEntry[];
  /** Task packs: the hash chain through the stages (absent in stage 0–3 pipeline manifests). */
  readonly chain?: readonly ChainLink[];
  /** Free-form identification (patient, session, model version) of what the run was about. */
  readonly subject?: Readonly<Record<string, string>>;
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

  /** The entry written under `path` (throws when nothing was: a chain must name real artifacts). */
  entry(path: string): ManifestEntry {
    const e = this.entries.find((x) => x.path === path);
    if (!e) throw new AuditError('AUDIT_BAD_MANIFEST', `chain names ${path}, which was not written`);
    return e;
  }

  async finish(extra: { chain?: readonly ChainLink[]; subject?: Readonly<Record<string, string>> } = {}): Promise<Manifest> {
    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      tool: this.tool,
      created: this.now().toISOString(),
      artifacts: [...this.entries].sort((a, b) => a.path.localeCompare(b.path)),
      ...(extra.chain ? { chain: extra.chain } : {}),
      ...(extra.subject ? { subject: extra.subject } : {}),
    };
    await writeFile(join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
}

export interface AuditProblem {
  readonly path: string;
  /** 'chain': a stage's recorded input hash differs from the artifact now in the pack (or its declaration). */
  readonly problem: 'missing' | 'modified' | 'outside' | 'chain';
  readonly expected?: string;
  readonly actual?: string;
  /** For 'chain': the stage whose input does not match. */
  readonly stage?: string;
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
  problems.push(...(await auditChain(dir, manifest)));
  return { checked: manifest.artifacts.length, problems };
}

/** Checks every stage's recorded inputs against the artifacts in the pack. */
async function auditChain(dir: string, manifest: Manifest): Promise<AuditProblem[]> {
  if (!manifest.chain) return [];
  const listed = new Map(manifest.artifacts.map((a) => [a.path, a.sha256]));
  const problems: AuditProblem[] = [];
  const seen = new Set<string>();
  const add = (p: AuditProblem): void => {
    const key = `${p.stage}|${p.path}|${p.problem}`;
    if (!seen.has(key)) problems.push(p);
    seen.add(key);
  };
  const actualOf = async (path: string): Promise<string | null> => {
    const rel = normalize(path);
    if (isAbsolute(rel) || relative(dir, join(dir, rel)).startsWith('..')) return null;
    try {
      return sha256(await readFile(join(dir, rel)));
    } catch {
      return null;
    }
  };
  for (const link of manifest.chain) {
    for (const out of link.outputs) if (!listed.has(out)) add({ path: out, problem: 'missing', stage: link.stage });
    for (const input of link.inputs) {
      if (input.path !== undefined) {
        const actual = await actualOf(input.path);
        if (actual === null) add({ path: input.path, problem: 'missing', stage: link.stage, expected: input.sha256 });
        else if (actual !== input.sha256 || listed.get(input.path) !== input.sha256)
          add({ path: input.path, problem: 'chain', stage: link.stage, expected: input.sha256, actual });
      } else if (input.declared_in !== undefined) {
        let text: string;
        try {
          text = await readFile(join(dir, normalize(input.declared_in)), 'utf8');
        } catch {
          add({ path: input.declared_in, problem: 'missing', stage: link.stage, expected: input.sha256 });
          continue;
        }
        if (!text.includes(input.sha256)) add({ path: input.declared_in, problem: 'chain', stage: link.stage, expected: input.sha256 });
      }
    }
  }
  return problems;
}
