import { mkdir, rename, writeFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Write to a temporary sibling, then rename: readers never see a half-written table or figure. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
