/** What this browser offers the samplers: isolation (threads), cores, WebGPU. */
export interface BrowserEnv {
  readonly isolated: boolean;
  readonly cores: number;
  readonly webgpu: boolean;
}

export async function browserEnv(): Promise<BrowserEnv> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  let webgpu = false;
  if (gpu) {
    try {
      webgpu = (await gpu.requestAdapter()) !== null;
    } catch {
      webgpu = false;
    }
  }
  return { isolated: globalThis.crossOriginIsolated === true, cores: navigator.hardwareConcurrency || 1, webgpu };
}

export function describeEnv(e: BrowserEnv): string {
  return `${e.isolated ? 'isolated' : 'NOT isolated'} · ${e.cores} cores · WebGPU ${e.webgpu ? 'yes' : 'no'}`;
}

/** Fills the header's environment line; every page calls it. */
export async function showEnv(): Promise<BrowserEnv> {
  const e = await browserEnv();
  const el = document.getElementById('env');
  if (el) el.textContent = describeEnv(e);
  return e;
}

export type WebProvider = 'wasm' | 'webgpu';

export interface WebRuntime {
  readonly provider: WebProvider;
  /** WebAssembly threads: navigator.hardwareConcurrency when the page is cross-origin isolated, else 1. */
  readonly threads: number;
}

export function defaultRuntime(e: BrowserEnv): WebRuntime {
  return { provider: e.webgpu ? 'webgpu' : 'wasm', threads: e.isolated ? Math.max(1, e.cores) : 1 };
}
