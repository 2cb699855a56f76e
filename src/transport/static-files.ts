// Static files: the dashboard's built bundle (clients/dashboard/dist, made by clients/dashboard/build.ts;
// everything the page needs is in it, nothing is loaded from another origin). Paths are resolved inside
// each mount's root only (no traversal), files above `maxFileBytes` are refused, and an absent directory
// simply yields 404.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface Mount {
  /** URL prefix ending in '/', e.g. '/' or '/docs/'. */
  readonly prefix: string;
  readonly dir: string;
}

export type StaticResult = { readonly status: 200; readonly contentType: string; readonly body: Buffer } | { readonly status: 404 | 413 | 400 };

const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** Longest matching prefix wins, so '/docs/' takes precedence over '/'. */
export async function readStatic(mounts: readonly Mount[], urlPath: string, maxFileBytes = MAX_FILE_BYTES): Promise<StaticResult> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return { status: 400 };
  }
  if (path.includes('\0')) return { status: 400 };
  const mount = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length).find((m) => path.startsWith(m.prefix));
  if (!mount) return { status: 404 };
  let rel = path.slice(mount.prefix.length);
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const root = resolve(mount.dir);
  const file = resolve(root, normalize(rel));
  if (file !== root && !file.startsWith(root + sep)) return { status: 404 };
  const type = CONTENT_TYPES[extname(file).toLowerCase()];
  if (!type) return { status: 404 };
  try {
    const st = await stat(file);
    if (!st.isFile()) return { status: 404 };
    if (st.size > maxFileBytes) return { status: 413 };
    return { status: 200, contentType: type, body: await readFile(join(file)) };
  } catch {
    return { status: 404 };
  }
}
