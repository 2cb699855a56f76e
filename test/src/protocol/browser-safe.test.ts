// Clients (browser dashboard, SDK) import src/protocol: every module it reaches must avoid node-only APIs.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../helpers/motion-data.js';

function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/from '(\.[^']+)\.js'/g)) stack.push(resolve(dirname(file), `${m[1]}.ts`));
  }
  return [...seen].sort();
}

it('src/protocol and everything it imports is free of node-only APIs', () => {
  const files = reachable(join(repoRoot, 'src', 'protocol', 'index.ts'));
  expect(files.some((f) => f.endsWith('streams/skeleton.ts'))).toBe(true);
  const offenders = files.flatMap((file) => {
    const code = readFileSync(file, 'utf8')
      .replace(/\/\/.*$/gm, '')
      .replace(/\/\*[\s\S]*?\*\//g, '');
    const bad = [/from 'node:/, /from '(fs|path|crypto|os|url|worker_threads)'/, /\bBuffer\b/, /\bprocess\./, /\brequire\(/].filter((re) => re.test(code));
    return bad.map((re) => `${file}: ${re}`);
  });
  expect(offenders).toEqual([]);
});
