/**
 * Builds the web page (Vite) into dist/web without ever leaving it half-written: the build goes to
 * a directory of its own, its hashed assets are moved in beside the old ones, and index.html is
 * replaced last in one rename. A page already loaded keeps its assets, and an API serving
 * dist/web while another process (a test run, `npm run dev`) builds never answers "not built".
 * `npm run build:web` (Vite alone, emptying dist/web) is for image builds, where nothing serves yet.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** Where the API serves the page from (api/web.ts WEB_DIST). */
export const WEB_OUT = path.join(ROOT, 'dist', 'web');
/** Assets no index.html names any more are removed once they are this old (a page open that long reloads). */
const STALE_MS = 60 * 60 * 1000;
const BUILD_PREFIX = '.web-build-';
const ABANDONED_MS = 10 * 60 * 1000;

/** Builds web/ into dist/web as described above; rejects with Vite's output when the build fails. */
export async function buildWebPage({ log = false }: { log?: boolean } = {}): Promise<void> {
  await removeAbandonedBuilds();
  const tmp = path.join(ROOT, 'dist', `${BUILD_PREFIX}${randomUUID()}`);
  try {
    await vite(tmp, log);
    for (const file of await files(tmp)) {
      if (file === 'index.html') continue;
      await mkdir(path.dirname(path.join(WEB_OUT, file)), { recursive: true });
      await rename(path.join(tmp, file), path.join(WEB_OUT, file));
    }
    await rename(path.join(tmp, 'index.html'), path.join(WEB_OUT, 'index.html'));
    await pruneStaleAssets();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function vite(outDir: string, log: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        'web/vite.config.mts',
        '--outDir',
        outDir,
        '--emptyOutDir',
        '--logLevel',
        log ? 'warn' : 'info',
      ],
      // React's production build whatever the caller's NODE_ENV (jest sets "test", which would give the development build).
      { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', log ? 'inherit' : 'pipe', log ? 'inherit' : 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}:\n${output}`))));
  });
}

/** Build directories left by a process that ended mid-build (a build takes seconds; these are minutes old). */
async function removeAbandonedBuilds(): Promise<void> {
  const dist = path.join(ROOT, 'dist');
  const names = await readdir(dist).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(BUILD_PREFIX))) {
    const dir = path.join(dist, name);
    const { mtimeMs } = await stat(dir).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > ABANDONED_MS) await rm(dir, { recursive: true, force: true });
  }
}

/** Every file under `dir`, relative to it. */
async function files(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await files(dir, rel)));
    else out.push(rel);
  }
  return out;
}

/** Removes old assets that the current index.html (and its bundles' source maps) no longer name. */
async function pruneStaleAssets(): Promise<void> {
  const index = await readFile(path.join(WEB_OUT, 'index.html'), 'utf8');
  const assets = path.join(WEB_OUT, 'assets');
  for (const name of await readdir(assets)) {
    const base = name.replace(/\.map$/, '');
    if (index.includes(`/assets/${base}`)) continue;
    const file = path.join(assets, name);
    const { mtimeMs } = await stat(file).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > STALE_MS) await unlink(file).catch(() => undefined);
  }
}
