import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { alive } from './process.js';
import type { ResultRow, ResultStore, RowFilter } from './types.js';

/*
 * Results in SQLite (node-sqlite3-wasm: SQLite compiled to WebAssembly with a VFS on node:fs, so it installs
 * from npm alone). Rollback journal with synchronous=FULL: every put is one transaction, and a process killed
 * mid-transaction leaves a hot journal that SQLite rolls back on the next open.
 *
 * The VFS locks with a `<db>.lock` directory, which a killed process leaves behind. So every process that
 * opens the store registers its pid in `<db>.users/`; a lock directory with no live registered process is
 * stale and is removed (the journal rollback then happens as usual). Contention between live processes is
 * retried with a short sleep (the WebAssembly build has no busy handler that sleeps).
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS results (
  id TEXT PRIMARY KEY,
  experiment TEXT NOT NULL,
  method TEXT NOT NULL,
  prompt_id TEXT NOT NULL,
  prompt TEXT NOT NULL,
  seed INTEGER NOT NULL,
  settings TEXT NOT NULL CHECK (json_valid(settings)),
  nfe INTEGER NOT NULL,
  wall_ms REAL NOT NULL,
  image TEXT NOT NULL,
  scores TEXT NOT NULL CHECK (json_valid(scores)),
  created_at TEXT NOT NULL,
  UNIQUE (experiment, method, prompt_id, seed)
);
CREATE TABLE IF NOT EXISTS scores (
  id TEXT NOT NULL REFERENCES results (id),
  scorer TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (id, scorer)
);
`;

const BUSY_RETRY_MS = 20;
const BUSY_LIMIT_MS = 60_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}


type Raw = Record<string, unknown>;

function toRow(r: Raw): ResultRow {
  return {
    id: String(r.id),
    experiment: String(r.experiment),
    method: String(r.method),
    promptId: String(r.prompt_id),
    prompt: String(r.prompt),
    seed: Number(r.seed),
    settings: JSON.parse(String(r.settings)) as ResultRow['settings'],
    nfe: Number(r.nfe),
    wallMs: Number(r.wall_ms),
    image: String(r.image),
    scores: JSON.parse(String(r.scores)) as Record<string, number>,
    createdAt: String(r.created_at),
  };
}

function checkRow(row: ResultRow): void {
  for (const [k, v] of Object.entries(row.scores)) {
    if (!Number.isFinite(v)) throw new Error(`row ${row.id}: score ${k} is ${v}, expected a finite number`);
  }
  if (!Number.isSafeInteger(row.seed) || row.seed < 0) throw new Error(`row ${row.id}: seed ${row.seed}`);
  if (!Number.isFinite(row.nfe) || !Number.isFinite(row.wallMs)) throw new Error(`row ${row.id}: nfe/wallMs must be finite`);
}

export class SqliteStore implements ResultStore {
  private readonly db: sqlite.Database;
  private readonly usersDir: string;
  private readonly me: string;

  private constructor(readonly path: string, readOnly: boolean) {
    this.usersDir = `${path}.users`;
    mkdirSync(this.usersDir, { recursive: true });
    this.me = join(this.usersDir, String(process.pid));
    writeFileSync(this.me, '');
    this.clearStaleLock();
    this.db = new sqlite.Database(path, readOnly ? { readOnly: true, fileMustExist: true } : {});
    if (!readOnly) {
      this.retry(() => this.db.exec('PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;'));
      this.retry(() => this.db.exec(`BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`), true);
    }
  }

  /** Opens (creating if needed) the store at `path`. */
  static open(path: string, opts: { readOnly?: boolean } = {}): SqliteStore {
    const full = resolve(path);
    if (opts.readOnly && !existsSync(full)) throw new Error(`results store ${full}: not found`);
    mkdirSync(dirname(full), { recursive: true });
    return new SqliteStore(full, opts.readOnly ?? false);
  }

  /** A lock directory that no live process could hold is a leftover of a killed one. */
  private clearStaleLock(): void {
    const lock = `${this.path}.lock`;
    if (!existsSync(lock)) return;
    const others = readdirSync(this.usersDir)
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid !== process.pid);
    const live = others.filter(alive);
    for (const pid of others) if (!live.includes(pid)) rmSync(join(this.usersDir, String(pid)), { force: true });
    if (live.length === 0) {
      try {
        rmdirSync(lock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  private retry<T>(fn: () => T, inTransaction = false): T {
    const t0 = Date.now();
    for (;;) {
      try {
        return fn();
      } catch (err) {
        if (inTransaction && this.db.inTransaction) this.db.exec('ROLLBACK');
        const busy = /locked|busy/i.test((err as Error).message);
        if (!busy || Date.now() - t0 > BUSY_LIMIT_MS) throw err;
        this.clearStaleLock();
        sleep(BUSY_RETRY_MS);
      }
    }
  }

  async put(row: ResultRow): Promise<boolean> {
    checkRow(row);
    return this.retry(() => {
        this.db.exec('BEGIN IMMEDIATE');
        const r = this.db.run(
          `INSERT OR IGNORE INTO results (id, experiment, method, prompt_id, prompt, seed, settings, nfe, wall_ms, image, scores, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [row.id, row.experiment, row.method, row.promptId, row.prompt, row.seed, JSON.stringify(row.settings), row.nfe, row.wallMs, row.image, JSON.stringify(row.scores), row.createdAt],
        );
        if (r.changes > 0) {
          for (const [scorer, value] of Object.entries(row.scores)) this.db.run('INSERT INTO scores (id, scorer, value) VALUES (?, ?, ?)', [row.id, scorer, value]);
        }
        this.db.exec('COMMIT');
        return r.changes > 0;
      }, true);
  }

  async has(id: string): Promise<boolean> {
    return this.retry(() => Boolean(this.db.get('SELECT 1 AS one FROM results WHERE id = ?', id)));
  }

  async get(id: string): Promise<ResultRow | undefined> {
    const r = this.retry(() => this.db.get('SELECT * FROM results WHERE id = ?', id));
    return r ? toRow(r as Raw) : undefined;
  }

  async query(filter: RowFilter = {}): Promise<ResultRow[]> {
    const where: string[] = [];
    const values: string[] = [];
    const cols = { experiment: 'experiment', method: 'method', promptId: 'prompt_id' } as const;
    for (const [k, col] of Object.entries(cols)) {
      const v = filter[k as keyof RowFilter];
      if (v !== undefined) {
        where.push(`${col} = ?`);
        values.push(v);
      }
    }
    const sql = `SELECT * FROM results ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY experiment, method, CASE WHEN prompt_id GLOB '[0-9]*' AND prompt_id NOT GLOB '*[^0-9]*' THEN CAST(prompt_id AS INTEGER) END, prompt_id, seed`;
    return this.retry(() => this.db.all(sql, values)).map((r) => toRow(r as Raw));
  }

  /** SQLite's own consistency check ("ok" when sound). */
  integrity(): string {
    return this.retry(() => String((this.db.get('PRAGMA integrity_check') as Raw).integrity_check));
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
    rmSync(this.me, { force: true });
  }
}
