import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

/**
 * All or nothing on disk. A command runs inside an output set (`withOutputSet`); every file any writer
 * produces meanwhile (PNGs, grids, JSON, Markdown, a --results page) is staged in a hidden folder beside its
 * destination, and only when the whole run has succeeded are the staged files renamed into place (a rename
 * within one file system is atomic; files they replace are kept aside until every rename has worked). On a
 * failure, an abort, SIGINT or SIGTERM the staging folders and any folder the run created are removed: files
 * that existed before stay as they were, and no half-written or temporary file remains.
 */

/** errno codes in words, for messages that name the user's path rather than a temporary one. */
const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'a folder on the path does not exist',
  ENAMETOOLONG: 'the name is too long',
  EEXIST: 'something with that name already exists',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  EXDEV: 'the staging folder and the destination are on different file systems',
};

export function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  return (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
}

/** A write that failed, named by the destination the user asked for. */
export class OutputWriteError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${reasonOf(cause)}`);
    this.name = 'OutputWriteError';
  }
}

const STAGING_PREFIX = '.w2sd-staging-';

/** mkdir -p; a file on the way reads as ENOTDIR (mkdir itself says EEXIST, which would name the wrong problem). */
function ensureFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw Object.assign(new Error(`${dir}: not a folder`), { code: 'ENOTDIR' });
    throw e;
  }
}

/** The deepest folder on the way to `path` that exists already. */
function existingAncestor(path: string): string {
  let dir = path;
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

/** Folders between `path` and its deepest existing ancestor, deepest first: the ones a run would create. */
function missingFolders(path: string): string[] {
  const out: string[] = [];
  for (let dir = path; !existsSync(dir); dir = dirname(dir)) {
    if (dirname(dir) === dir) break;
    out.push(dir);
  }
  return out;
}

export class OutputSet {
  /** Destination → staged copy. */
  private readonly staged = new Map<string, string>();
  /** Existing folder → its staging folder. */
  private readonly stagingDirs = new Map<string, string>();
  /** Folders that did not exist when the run began (removed on abort when empty), deepest first. */
  private readonly absentFolders = new Set<string>();
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(readonly signal?: AbortSignal) {}

  /** Declares where the run will write, so that folders it creates can be removed if it fails. */
  claim(...paths: string[]): void {
    for (const p of paths) for (const d of missingFolders(resolve(p))) this.absentFolders.add(d);
  }

  /** Files staged so far, by destination. */
  get files(): string[] {
    return [...this.staged.keys()];
  }

  write(path: string, data: string | Uint8Array): void {
    if (this.state !== 'open') throw new Error(`output set already ${this.state}: cannot write ${path}`);
    this.signal?.throwIfAborted();
    const target = resolve(path);
    this.claim(dirname(target));
    const anchor = existingAncestor(dirname(target));
    try {
      let stage = this.stagingDirs.get(anchor);
      if (!stage) {
        stage = mkdtempSync(join(anchor, STAGING_PREFIX));
        this.stagingDirs.set(anchor, stage);
      }
      const file = join(stage, relative(anchor, target));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, data);
      this.staged.set(target, file);
    } catch (e) {
      throw new OutputWriteError(target, e);
    }
  }

  /** Moves every staged file into place, or none: a failed rename puts back what was there before. */
  commit(): void {
    if (this.state !== 'open') throw new Error(`output set already ${this.state}`);
    this.signal?.throwIfAborted();
    const placed: string[] = [];
    const kept: { target: string; aside: string }[] = [];
    let current = '';
    try {
      for (const [target, file] of this.staged) {
        current = target;
        ensureFolder(dirname(target));
        if (existsSync(target)) {
          if (statSync(target).isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
          const aside = `${file}.previous`;
          renameSync(target, aside);
          kept.push({ target, aside });
        }
        renameSync(file, target);
        placed.push(target);
      }
    } catch (e) {
      for (const t of placed) rmSync(t, { force: true });
      for (const k of kept) renameSync(k.aside, k.target);
      this.abort();
      throw new OutputWriteError(current, e);
    }
    this.state = 'committed';
    this.removeStaging();
  }

  /** Removes everything this run wrote or created; safe to call more than once and from a signal handler. */
  abort(): void {
    if (this.state === 'committed') return;
    this.state = 'aborted';
    this.removeStaging();
    const folders = [...this.absentFolders].sort((a, b) => b.length - a.length);
    for (const d of folders) {
      try {
        rmdirSync(d);
      } catch {
        // not empty (someone else wrote there meanwhile) or already gone: leave it
      }
    }
  }

  private removeStaging(): void {
    for (const dir of this.stagingDirs.values()) rmSync(dir, { recursive: true, force: true });
    this.stagingDirs.clear();
  }
}

const current = new AsyncLocalStorage<OutputSet>();
const open = new Set<OutputSet>();

/**
 * Runs `fn` with an output set that every writer below joins, and commits it when `fn` succeeds; on an error
 * (or an abort of `signal`) removes what was staged and rethrows.
 */
export async function withOutputSet<T>(fn: (set: OutputSet) => Promise<T>, signal?: AbortSignal, claims: readonly string[] = []): Promise<T> {
  const set = new OutputSet(signal);
  set.claim(...claims);
  open.add(set);
  try {
    const result = await current.run(set, () => fn(set));
    set.commit();
    return result;
  } catch (e) {
    set.abort();
    throw e;
  } finally {
    open.delete(set);
  }
}

/** For a signal handler that exits at once: removes what every open output set has staged. */
export function abortOpenOutputSets(): void {
  for (const s of open) s.abort();
}

/**
 * Writes one output file: into the enclosing output set when there is one, otherwise on its own (temporary
 * sibling, then rename).
 */
export function writeOutput(path: string, data: string | Uint8Array): void {
  const set = current.getStore();
  if (set) {
    set.write(path, data);
    return;
  }
  writeFilesAtomically([{ path, data: typeof data === 'string' ? Buffer.from(data) : data }]);
}

/**
 * Writes several files so that either all appear under their names or none does. Inside an output set they
 * join it; on their own every file goes to a temporary name in its target folder first, and only when all are
 * written are they renamed. A failure, or an abort between files, removes the temporaries.
 */
export function writeFilesAtomically(files: readonly { path: string; data: Uint8Array }[], abort?: AbortSignal): void {
  const set = current.getStore();
  if (set) {
    for (const f of files) {
      abort?.throwIfAborted();
      set.write(f.path, f.data);
    }
    return;
  }
  const temps: { temp: string; path: string }[] = [];
  let at = '';
  try {
    for (const f of files) {
      abort?.throwIfAborted();
      at = f.path;
      ensureFolder(dirname(f.path));
      const temp = join(dirname(f.path), `.${basename(f.path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
      temps.push({ temp, path: f.path });
      writeFileSync(temp, f.data, { flag: 'wx' });
    }
    abort?.throwIfAborted();
    for (const t of temps) {
      at = t.path;
      renameSync(t.temp, t.path);
    }
  } catch (err) {
    for (const t of temps) rmSync(t.temp, { force: true });
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new OutputWriteError(at, err);
  }
}
