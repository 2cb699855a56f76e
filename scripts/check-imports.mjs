// Enforces DESIGN.md's import direction and the absence of import cycles.
// streams/ and models/ never import src/; clients/ imports only src/protocol from src/;
// nothing imports test/ or loadtest/; nothing imports the CLI (src/cli/).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const folders = ['src', 'streams', 'models', 'clients', 'loadtest', 'test', 'scripts'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'vendor') continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(ts|mts|mjs)$/.test(name) && !name.endsWith('.d.ts')) files.push(p);
  }
};
for (const f of folders) {
  try {
    walk(join(root, f));
  } catch {
    /* folder may not exist yet */
  }
}

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"]([^'"]+\.(?:ts|js))['"]/g;
const graph = new Map();
const problems = [];
const top = (p) => relative(root, p).split('/')[0];

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec || !spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    deps.push(target);
    const from = relative(root, file);
    const to = relative(root, target);
    const fromTop = top(file);
    const toTop = top(target);
    if ((fromTop === 'streams' || fromTop === 'models') && toTop === 'src') problems.push(`${from} imports ${to}: streams/ and models/ never import src/`);
    if (fromTop === 'clients' && toTop === 'src' && !to.startsWith('src/protocol'))
      problems.push(`${from} imports ${to}: clients/ imports only src/protocol from src/`);
    if (fromTop !== 'test' && toTop === 'test') problems.push(`${from} imports ${to}: nothing imports test/`);
    if (fromTop !== 'loadtest' && toTop === 'loadtest' && fromTop !== 'test') problems.push(`${from} imports ${to}: nothing imports loadtest/`);
    if (to.startsWith('src/cli') && !from.startsWith('src/cli') && fromTop !== 'test') problems.push(`${from} imports ${to}: nothing imports the CLI`);
  }
  graph.set(file.replace(/\.mts$/, '.ts'), deps);
}

// Cycle detection (iterative DFS with colours) over project files only; test files are leaves.
const colour = new Map();
const cycles = [];
for (const start of graph.keys()) {
  if (colour.get(start)) continue;
  const stack = [[start, 0]];
  const path = [];
  colour.set(start, 1);
  path.push(start);
  while (stack.length) {
    const frame = stack[stack.length - 1];
    const deps = graph.get(frame[0]) ?? [];
    if (frame[1] < deps.length) {
      const next = deps[frame[1]++];
      if (!graph.has(next)) continue;
      const c = colour.get(next);
      if (c === 1) cycles.push([...path.slice(path.indexOf(next)), next].map((p) => relative(root, p)).join(' -> '));
      else if (!c) {
        colour.set(next, 1);
        path.push(next);
        stack.push([next, 0]);
      }
    } else {
      colour.set(frame[0], 2);
      path.pop();
      stack.pop();
    }
  }
}
for (const c of cycles) problems.push(`import cycle: ${c}`);

if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`imports ok: ${files.length} files, no cycles, directions respected`);
