// The Node versions package.json claims are true: this Node is one of them (CI and these tests run on
// it), and every installed package accepts the oldest of them, so `npm ci` warns about no engine
// (e.g. @nats-io/nuid 3 wants Node ≥ 22; package.json pins 2.0.3 through `overrides`).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/motion-data.js';

interface Pkg {
  readonly name?: string;
  readonly version?: string;
  readonly engines?: { readonly node?: string };
}

const read = (path: string): Pkg => JSON.parse(readFileSync(path, 'utf8')) as Pkg;
const ours = read(join(repoRoot, 'package.json'));

/** Every installed package (nested node_modules too) with its engines.node. */
function installed(dir: string, out: { name: string; range: string }[] = []): { name: string; range: string }[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      installed(path, out);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const p = read(manifest);
      if (p.engines?.node) out.push({ name: `${p.name}@${p.version}`, range: p.engines.node });
    }
    if (existsSync(join(path, 'node_modules'))) installed(join(path, 'node_modules'), out);
  }
  return out;
}

describe('supported Node versions (package.json engines)', () => {
  const range = ours.engines?.node ?? '';
  const oldest = semver.minVersion(range);

  it('include the Node running the tests', () => {
    expect(semver.satisfies(process.version, range), `${process.version} vs ${range}`).toBe(true);
  });

  it('are accepted by every installed package, down to the oldest claimed', () => {
    expect(oldest).not.toBeNull();
    const refusing = installed(join(repoRoot, 'node_modules')).filter((p) => !semver.satisfies(oldest!, p.range));
    expect(refusing).toEqual([]);
  });
});
