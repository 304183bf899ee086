import { closeSync, existsSync, openSync, readFileSync, realpathSync, rmSync, statSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { reasonOf } from '../pipelines/atomic.js';
import { OptionError } from './validate.js';

/**
 * Up-front checks of the paths a run reads and writes, so that a run that could not save its results is
 * refused before it computes them, and nothing blocks on a FIFO or a device. Writes themselves go through
 * the output set (pipelines/atomic.ts).
 */

/** Kernel pseudo file systems (statfs magic numbers): writing there is never what a user wants. */
const PSEUDO_FS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
]);
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

function existingAncestor(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function refusePseudo(path: string, option: string): void {
  const anchor = existingAncestor(path);
  let real = anchor;
  try {
    real = realpathSync(anchor);
  } catch {
    // unreadable: the writability probe below says why
  }
  const root = PSEUDO_ROOTS.find((r) => real === r || real.startsWith(`${r}/`));
  if (root) throw new OptionError(`${option} ${path}: ${root} is a kernel pseudo file system, not a place for output files`);
  if (process.platform === 'linux') {
    try {
      const type = PSEUDO_FS.get(Number(statfsSync(real).type));
      if (type) throw new OptionError(`${option} ${path}: lies on the ${type} pseudo file system, not a place for output files`);
    } catch (e) {
      if (e instanceof OptionError) throw e;
    }
  }
}

/** Makes and removes an empty file in `dir`: the one test of writability that also sees read-only mounts and ACLs. */
function probeWritable(dir: string, path: string, option: string): void {
  const probe = join(dir, `.w2sd-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    throw new OptionError(`${option} ${path}: cannot write in ${dir} (${reasonOf(e)})`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** The deepest existing folder on the way to `path`, refusing a file where a folder is needed. */
function writableAnchor(path: string, option: string): string {
  const anchor = existingAncestor(path);
  if (!statSync(anchor).isDirectory()) throw new OptionError(`${option} ${path}: ${anchor} is a file, not a folder`);
  probeWritable(anchor, path, option);
  return anchor;
}

/** A folder the run will create or write into. */
export function checkOutputFolder(path: string, option: string): string {
  const full = resolve(path);
  refusePseudo(full, option);
  if (existsSync(full) && !statSync(full).isDirectory()) throw new OptionError(`${option} ${path}: is a file, expected a folder`);
  writableAnchor(full, option);
  return full;
}

/** A file the run will create or replace (replacing means a rename in its folder, so the folder must be writable). */
export function checkOutputFile(path: string, option: string): string {
  const full = resolve(path);
  refusePseudo(full, option);
  if (existsSync(full)) {
    const st = statSync(full);
    if (st.isDirectory()) throw new OptionError(`${option} ${path}: is a folder, expected a file`);
    if (!st.isFile()) throw new OptionError(`${option} ${path}: is not a regular file (a FIFO, socket or device)`);
  }
  writableAnchor(dirname(full), option);
  return full;
}

/** Largest text file the commands read or rewrite (results pages, mixture files). */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/** An existing regular file read as UTF-8 text: not a folder, FIFO or device, not binary, not huge. */
export function readTextFile(path: string, option: string, what: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new OptionError(`${option} ${path}: cannot read the file (${reasonOf(e)})`);
  }
  if (st.isDirectory()) throw new OptionError(`${option} ${path}: is a folder, expected ${what}`);
  if (!st.isFile()) throw new OptionError(`${option} ${path}: is not a regular file (a FIFO, socket or device), expected ${what}`);
  if (st.size > MAX_TEXT_BYTES) throw new OptionError(`${option} ${path}: ${st.size} bytes, more than the ${MAX_TEXT_BYTES / 1024 / 1024} MiB allowed for ${what}`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new OptionError(`${option} ${path}: cannot read the file (${reasonOf(e)})`);
  }
  if (bytes.includes(0)) throw new OptionError(`${option} ${path}: is binary (holds NUL bytes), expected ${what}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new OptionError(`${option} ${path}: is not UTF-8 text, expected ${what}`);
  }
}

/** A results page the run will update: absent, or an existing Markdown text file; then also writable. */
export function checkResultsPage(path: string, option: string): string {
  const full = checkOutputFile(path, option);
  if (existsSync(full)) readTextFile(full, option, 'a Markdown text file');
  return full;
}

/** An existing folder to read from. */
export function checkInputFolder(path: string, option: string): string {
  const full = resolve(path);
  if (!existsSync(full)) throw new OptionError(`${option} ${path}: folder not found`);
  if (!statSync(full).isDirectory()) throw new OptionError(`${option} ${path}: is a file, expected a folder`);
  return full;
}
