import { nodeFiles } from '../node-host.js';
import type { ClipTokenizer } from './clip.js';
import { loadClipTokenizerFileIn, loadClipTokenizerIn, type TokenizerOverrides } from './load-from.js';

export type { TokenizerOverrides } from './load-from.js';

/** loadClipTokenizerIn on the file system. */
export function loadClipTokenizer(dir: string, overrides: TokenizerOverrides = {}): ClipTokenizer {
  return loadClipTokenizerIn(nodeFiles, dir, overrides);
}

/** loadClipTokenizerFileIn on the file system. */
export function loadClipTokenizerFile(path: string, overrides: TokenizerOverrides = {}): ClipTokenizer {
  return loadClipTokenizerFileIn(nodeFiles, path, overrides);
}
