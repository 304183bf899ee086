import type { ModelSession } from './onnx/feeds.js';
import type { RuntimeOptions } from './onnx/providers.js';

/**
 * Where model folders live and how their files are read. Node reads the file system (node-host.ts); a page
 * reads a folder the user picked or one the server exposes (src/web/sd-host.ts). The model code above this
 * interface is the same in both, so the browser's images come from the very code the CLI runs.
 */
export interface ModelFiles {
  join(...parts: string[]): string;
  resolve(path: string): string;
  /** The path with links resolved: a folder reached by two paths is one model (one session). */
  realpath(path: string): string;
  exists(path: string): boolean;
  isFile(path: string): boolean;
  isDirectory(path: string): boolean;
  /** Configs and tokenizer files; synchronous because folder reading is (a page reads them ahead). */
  readText(path: string): string;
}

export interface ModelHost {
  readonly files: ModelFiles;
  /** One session per model file and runtime, shared by every leg that names the file. */
  openSession(path: string, runtime: RuntimeOptions): Promise<ModelSession>;
  /** A weight by its training-time name (clip skip's final layer norm); undefined when absent. */
  readInitializer(path: string, name: string): Float32Array | undefined;
}

/** The last segment of a path, for messages and the PNG parameters ("Model: name"). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p !== '');
  return parts.length > 0 ? parts[parts.length - 1] : path;
}
