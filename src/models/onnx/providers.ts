import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { listSupportedBackends } from 'onnxruntime-node';

/** Execution providers this project can ask ONNX Runtime for, by the names ORT itself uses. */
export const PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'coreml', 'dml'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface RuntimeOptions {
  /** Default 'cpu'. */
  readonly provider?: ProviderName;
  /** Intra-op threads; ORT picks (all cores) when absent. */
  readonly threads?: number;
}

export function parseProvider(name: string): ProviderName {
  const lower = name.trim().toLowerCase();
  if ((PROVIDERS as readonly string[]).includes(lower)) return lower as ProviderName;
  throw new Error(`execution provider '${name}': expected one of ${PROVIDERS.join(', ')}`);
}

/** The CUDA and TensorRT providers are separate downloads of onnxruntime-node; this is where they land. */
function ortBinaryFolder(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('onnxruntime-node');
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

export const CUDA_INSTALL_HINT =
  'install the CUDA 12 provider with `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` (see docs/SD.md)';

/**
 * Fails early, naming the provider and the fix, instead of letting ORT print a native stack trace
 * about a shared library. Returns nothing when the provider can at least be tried.
 */
export function checkProvider(provider: ProviderName): void {
  if (provider === 'cpu') return;
  const backends = listSupportedBackends();
  const found = backends.find((b) => b.name === provider);
  const platform = `${process.platform}/${process.arch}`;
  if (!found) {
    const names = backends.map((b) => b.name).join(', ');
    throw new Error(`execution provider '${provider}' is not available in onnxruntime-node on ${platform} (available here: ${names})`);
  }
  if (!found.bundled && (provider === 'cuda' || provider === 'tensorrt')) {
    const lib = join(ortBinaryFolder(), process.platform === 'win32' ? 'onnxruntime_providers_shared.dll' : 'libonnxruntime_providers_shared.so');
    if (!existsSync(lib)) {
      throw new Error(`execution provider '${provider}' is not installed (${lib} is missing): ${CUDA_INSTALL_HINT}`);
    }
  }
}

export function providerAvailable(provider: ProviderName): boolean {
  try {
    checkProvider(provider);
    return true;
  } catch {
    return false;
  }
}
