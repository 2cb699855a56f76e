// Builds the therapist dashboard into clients/dashboard/dist: one ES bundle (the page's TypeScript, the
// protocol module it shares with the server, uPlot, msgpackr, zod) and one stylesheet (ours + uPlot's),
// so the page needs nothing from a CDN at run time. `npm ci` runs it (the `prepare` script) and
// `jepa-motion serve` runs it when dist/ is missing; `tsx clients/dashboard/build.ts [outDir]` by hand.
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_DIST = join(HERE, 'dist');
/** Files of a complete build; a build is "present" only when every one exists. */
export const BUILD_FILES = ['index.html', 'app.js', 'app.css'] as const;

export interface BuildResult {
  readonly outDir: string;
  readonly bytes: Readonly<Record<string, number>>;
}

/** Bundles the page into `outDir` (replacing what was there). Throws esbuild's error on a bad source. */
export async function buildDashboard(outDir: string = DASHBOARD_DIST): Promise<BuildResult> {
  const out = resolve(outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: [join(HERE, 'src', 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'silent',
    // msgpackr's browser entry has no Node built-ins; make sure a stray one fails the build instead.
    mainFields: ['browser', 'module', 'main'],
  });
  const uplotCss = createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css');
  const css = `${await readFile(uplotCss, 'utf8')}\n${await readFile(join(HERE, 'style.css'), 'utf8')}`;
  await writeFile(join(out, 'app.css'), css);
  await copyFile(join(HERE, 'index.html'), join(out, 'index.html'));
  const bytes: Record<string, number> = {};
  for (const f of BUILD_FILES) bytes[f] = (await stat(join(out, f))).size;
  return { outDir: out, bytes };
}

/** True when `outDir` holds a complete build. */
export async function isBuilt(outDir: string = DASHBOARD_DIST): Promise<boolean> {
  const present = await Promise.all(
    BUILD_FILES.map((f) =>
      stat(join(outDir, f)).then(
        (s) => s.isFile(),
        () => false,
      ),
    ),
  );
  return present.every(Boolean);
}

/** Builds only when no complete build is there (server start). */
export async function ensureDashboardBuilt(outDir: string = DASHBOARD_DIST): Promise<'present' | 'built'> {
  if (await isBuilt(outDir)) return 'present';
  await buildDashboard(outDir);
  return 'built';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildDashboard(process.argv[2]).then(
    (r) => {
      process.stdout.write(
        `dashboard built in ${r.outDir}: ${Object.entries(r.bytes)
          .map(([f, n]) => `${f} ${(n / 1024).toFixed(0)} KiB`)
          .join(', ')}\n`,
      );
    },
    (error: unknown) => {
      process.stderr.write(`dashboard build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
