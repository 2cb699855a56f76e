import { auditDirectory } from '../pipeline/manifest.js';
import { parseFlags, UsageError, type CliIo } from './io.js';

export const auditUsage = 'jepa-motion audit <dir | taskpack dir> [--json]';

/** Re-hashes every artifact in <dir>/manifest.json and checks a task pack's stage chain; exit 1 naming each mismatch. */
export async function auditCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, { json: { type: 'boolean' } });
  const [dir, ...rest] = positionals;
  if (!dir || rest.length) throw new UsageError(`expected one directory: ${auditUsage}`);
  const { checked, problems } = await auditDirectory(dir);
  if (values.json) io.out(`${JSON.stringify({ dir, checked, passed: problems.length === 0, problems })}\n`);
  for (const p of problems) {
    const detail =
      p.problem === 'modified'
        ? ` (expected sha256 ${p.expected}, found ${p.actual})`
        : p.problem === 'chain'
          ? ` (stage ${p.stage} was computed from sha256 ${p.expected}${p.actual ? `, the pack now holds ${p.actual}` : ', which this artifact no longer declares'})`
          : p.stage
            ? ` (needed by stage ${p.stage})`
            : '';
    io.err(`audit: ${p.path}: ${p.problem}${detail}\n`);
  }
  if (!values.json && problems.length === 0) io.out(`audit: ${checked} artifacts in ${dir} match the manifest\n`);
  return problems.length === 0 ? 0 : 1;
}
