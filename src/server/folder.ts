import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, relative, resolve, sep, isAbsolute } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** Content types of the files a model folder holds; anything else is served as bytes. */
const TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.onnx_data': 'application/octet-stream',
  '.pb': 'application/octet-stream',
};

/**
 * The real path of `rel` inside `root`, or undefined when it is not a regular file there. Resolved through
 * symlinks before the check, so a link inside the folder cannot reach a file outside it; dot-files and
 * dot-folders are never served.
 */
export async function confinedFile(root: string, rel: string): Promise<string | undefined> {
  if (rel.includes('\0') || isAbsolute(rel)) return undefined;
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.'))) return undefined;
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(resolve(realRoot, ...parts));
  } catch {
    return undefined;
  }
  const inside = relative(realRoot, real);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || inside.split(sep).includes('..')) return undefined;
  const s = await stat(real);
  return s.isFile() ? real : undefined;
}

/** Sub-folders of `root` that hold one of `markers` (e.g. model_index.json): the models a page may list. */
export async function listModelFolders(root: string, markers: readonly string[]): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    for (const m of markers) {
      if (await confinedFile(root, `${e.name}/${m}`)) {
        out.push(e.name);
        break;
      }
    }
  }
  return out.sort();
}

/** Most files a folder listing names; a model folder has a few dozen. */
const LISTING_LIMIT = 10_000;

/**
 * The regular files under `root/rel` (confined as confinedFile confines; dot-entries skipped), as paths relative
 * to that folder with their sizes: what a page needs to read a model folder it cannot list itself.
 */
export async function listFolderFiles(root: string, rel: string): Promise<{ path: string; size: number }[] | undefined> {
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || p.startsWith('.') || p.includes('\0'))) return undefined;
  const realRoot = await realpath(root);
  const out: { path: string; size: number }[] = [];
  const walk = async (sub: string[]): Promise<boolean> => {
    let entries;
    try {
      entries = await readdir(resolve(realRoot, ...parts, ...sub), { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const relPath = [...sub, e.name].join('/');
      const file = await confinedFile(realRoot, [...parts, ...sub, e.name].join('/'));
      if (file) {
        if (out.length >= LISTING_LIMIT) throw new Error(`more than ${LISTING_LIMIT} files under ${rel}`);
        out.push({ path: relPath, size: (await stat(file)).size });
      } else if (sub.length < 8 && (e.isDirectory() || e.isSymbolicLink())) {
        await walk([...sub, e.name]);
      }
    }
    return true;
  };
  return (await walk([])) ? out : undefined;
}

export interface ReadOnlyFolder {
  /** URL prefix, e.g. "/models". */
  readonly prefix: string;
  readonly dir: string;
  /** A sub-folder counts as a model when it holds one of these files; listed at GET prefix + "/". */
  readonly markers: readonly string[];
}

/**
 * GET/HEAD only: files under the folder (confined, see confinedFile), a JSON list of its model folders at
 * prefix/, and a JSON list of a sub-folder's files at prefix/name/.
 */
export function serveReadOnlyFolder(app: FastifyInstance, f: ReadOnlyFolder): void {
  const root = resolve(f.dir);
  app.get(`${f.prefix}/`, async () => ({ models: await listModelFolders(root, f.markers) }));
  app.get(`${f.prefix}/*`, async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    if (rel.endsWith('/')) {
      // a sub-folder's listing (GET prefix/name/): the files a page reads the model folder from
      const files = await listFolderFiles(root, rel);
      if (!files) return reply.code(404).send({ error: `not found: ${f.prefix}/${rel}` });
      return { files };
    }
    const file = await confinedFile(root, rel);
    if (!file) return reply.code(404).send({ error: `not found: ${f.prefix}/${rel}` });
    const s = await stat(file);
    reply.header('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    reply.header('content-length', s.size);
    reply.header('cache-control', 'no-cache');
    return reply.send(createReadStream(file));
  });
}

