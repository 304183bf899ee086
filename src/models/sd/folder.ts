import { nodeFiles } from '../node-host.js';
import { checkSdFilesIn, readSdFolderIn, type SdFolder } from './folder-read.js';

export type { SdComponents, SdFamily, SdFolder } from './folder-read.js';

/** readSdFolderIn on the file system. */
export function readSdFolder(dir: string): SdFolder {
  return readSdFolderIn(nodeFiles, dir);
}

/** checkSdFilesIn on the file system. */
export function checkSdFiles(folder: SdFolder, need: { vaeDecoder?: boolean } = {}): void {
  checkSdFilesIn(nodeFiles, folder, need);
}
