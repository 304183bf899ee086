import { writeOutput } from '../../pipelines/atomic.js';

/** One output file, through the run's output set (all or nothing) or on its own via a temporary sibling. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  writeOutput(path, data);
}
