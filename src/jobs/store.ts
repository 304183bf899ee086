import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { isJobId } from './job-id.js';

/** What a finished job leaves: its record, naming the images written beside it. */
export interface ResultRecord {
  readonly id: string;
  readonly kind: string;
  /** Image file names (in images/), in batch order. */
  readonly images: readonly string[];
  readonly result: unknown;
  readonly worker: string;
  readonly attempt: number;
  readonly finishedAt: string;
}

let tempCounter = 0;

/**
 * Writes `data` under `path` so that a reader sees either nothing or the whole file: a uniquely named
 * temporary in the same folder (host, pid and a counter: workers on other machines share the folder),
 * flushed to disk, then renamed — rename within one folder is atomic on local filesystems and on NFS.
 */
export function writeAtomic(path: string, data: Uint8Array | string): void {
  const dir = resolve(path, '..');
  const temp = join(dir, `.tmp-${hostname()}-${process.pid}-${tempCounter++}`);
  const fd = openSync(temp, 'wx');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * Results in a folder every worker can reach (local disk for one machine, an NFS/SMB share for several):
 * `results/<job id>.json` and `images/<job id>-<n>.png`. Names derive from the job's content id, so a job
 * that runs twice (a stalled job recovered while its first run still finishes) rewrites the same names with
 * the same bytes and still leaves one result; the record is written last and marks the job done.
 * No locks and no database: only atomic renames, which is what shared filesystems do reliably.
 */
export class JobStore {
  readonly dir: string;
  readonly resultsDir: string;
  readonly imagesDir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.resultsDir = join(this.dir, 'results');
    this.imagesDir = join(this.dir, 'images');
  }

  ensure(): this {
    mkdirSync(this.resultsDir, { recursive: true });
    mkdirSync(this.imagesDir, { recursive: true });
    return this;
  }

  private recordPath(id: string): string {
    if (!isJobId(id)) throw new Error(`job id ${JSON.stringify(id)}: not a job id`);
    return join(this.resultsDir, `${id}.json`);
  }

  has(id: string): boolean {
    return existsSync(this.recordPath(id));
  }

  get(id: string): ResultRecord | undefined {
    const path = this.recordPath(id);
    if (!existsSync(path)) return undefined;
    return JSON.parse(readFileSync(path, 'utf8')) as ResultRecord;
  }

  /** Images first, record last: a record never names an image that is not there yet. */
  commit(record: Omit<ResultRecord, 'images' | 'worker' | 'finishedAt'>, images: readonly Uint8Array[]): ResultRecord {
    this.ensure();
    const names = images.map((_, b) => `${record.id}-${b}.png`);
    images.forEach((data, b) => writeAtomic(join(this.imagesDir, names[b]), data));
    const full: ResultRecord = { ...record, images: names, worker: `${hostname()}:${process.pid}`, finishedAt: new Date().toISOString() };
    writeAtomic(this.recordPath(record.id), `${JSON.stringify(full, null, 1)}\n`);
    return full;
  }

  /** Ids of every finished job. */
  ids(): string[] {
    if (!existsSync(this.resultsDir)) return [];
    return readdirSync(this.resultsDir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => f.slice(0, -5))
      .filter(isJobId);
  }

  /**
   * The path of an image named by a client, or undefined: only `<job id>-<n>` (optionally `.png`) names
   * are accepted, and the resolved path must lie inside images/ — no way out of the output folder.
   */
  imagePath(name: string): string | undefined {
    const m = /^([a-z]{1,8}-[0-9a-f]{32})-(\d{1,4})(\.png)?$/.exec(name);
    if (!m) return undefined;
    const path = resolve(this.imagesDir, `${m[1]}-${m[2]}.png`);
    if (!path.startsWith(this.imagesDir + sep)) return undefined;
    return existsSync(path) ? path : undefined;
  }
}
