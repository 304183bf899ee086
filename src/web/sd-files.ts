import type { ModelFiles } from '../models/host.js';

/**
 * A model folder as a page sees it: a folder the user picked (File objects) or one `w2sd serve --models`
 * exposes (URLs), mounted at a virtual path such as /sd-models/name. Configs and tokenizer files are read
 * ahead, because folder reading is synchronous; ONNX files are read when a session opens.
 */
export interface FolderEntry {
  readonly size: number;
  read(): Promise<Uint8Array>;
}

/** Text files read ahead: configs, tokenizer.json (≈ 2 MB), vocab.json, merges.txt. */
const TEXT_FILE = /\.(json|txt)$/i;
const TEXT_LIMIT = 64 << 20;

/** Absolute, '/'-separated, without '.', '..' or repeated separators. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

export class SnapshotFiles implements ModelFiles {
  private readonly dirs = new Set<string>(['/']);

  private constructor(
    private readonly entries: ReadonlyMap<string, FolderEntry>,
    private readonly texts: ReadonlyMap<string, string>,
  ) {
    for (const path of entries.keys()) {
      for (let d = path.slice(0, path.lastIndexOf('/')); d !== ''; d = d.slice(0, d.lastIndexOf('/'))) this.dirs.add(d);
    }
  }

  /** Mounts entries (paths relative to each root) and reads their text files ahead. */
  static async mount(roots: readonly { root: string; entries: ReadonlyMap<string, FolderEntry> }[]): Promise<SnapshotFiles> {
    const all = new Map<string, FolderEntry>();
    for (const { root, entries } of roots) for (const [rel, e] of entries) all.set(normalizePath(`${root}/${rel}`), e);
    const texts = new Map<string, string>();
    const decoder = new TextDecoder();
    await Promise.all(
      [...all].filter(([p, e]) => TEXT_FILE.test(p) && e.size <= TEXT_LIMIT).map(async ([p, e]) => texts.set(p, decoder.decode(await e.read()))),
    );
    return new SnapshotFiles(all, texts);
  }

  join = (...parts: string[]): string => normalizePath(parts.join('/'));
  resolve = (path: string): string => normalizePath(path);
  realpath = (path: string): string => normalizePath(path);
  isFile = (path: string): boolean => this.entries.has(normalizePath(path));
  isDirectory = (path: string): boolean => this.dirs.has(normalizePath(path));
  exists = (path: string): boolean => this.isFile(path) || this.isDirectory(path);

  readText = (path: string): string => {
    const p = normalizePath(path);
    const text = this.texts.get(p);
    if (text !== undefined) return text;
    throw new Error(this.entries.has(p) ? `${p}: not read as text (only .json and .txt files up to ${TEXT_LIMIT >> 20} MB are)` : `${p}: no such file`);
  };

  entry(path: string): FolderEntry {
    const e = this.entries.get(normalizePath(path));
    if (!e) throw new Error(`${normalizePath(path)}: no such file`);
    return e;
  }

  /** Files in the folder of `path` whose names match. */
  siblings(path: string, name: RegExp): string[] {
    const p = normalizePath(path);
    const dir = p.slice(0, p.lastIndexOf('/') + 1);
    return [...this.entries.keys()].filter((k) => k.startsWith(dir) && !k.slice(dir.length).includes('/') && name.test(k.slice(dir.length)));
  }
}
