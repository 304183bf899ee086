import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes several files so that either all appear under their names or none does: every file goes to a
 * temporary name in its target folder first, and only when all are written are they renamed (rename is
 * atomic within a folder). A failure, or an abort between files, removes the temporaries.
 */
export function writeFilesAtomically(files: readonly { path: string; data: Uint8Array }[], abort?: AbortSignal): void {
  const temps: { temp: string; path: string }[] = [];
  try {
    for (const f of files) {
      abort?.throwIfAborted();
      const temp = join(dirname(f.path), `.${basename(f.path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
      temps.push({ temp, path: f.path });
      writeFileSync(temp, f.data, { flag: 'wx' });
    }
    abort?.throwIfAborted();
    for (const t of temps) renameSync(t.temp, t.path);
  } catch (err) {
    for (const t of temps) rmSync(t.temp, { force: true });
    throw err;
  }
}
