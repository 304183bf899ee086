import { nodeHost } from '../models/node-host.js';
import type { GenerateOptions, GenerateResult } from './options.js';
import { outputPaths, writeImages } from './output.js';
import { render, warningsCollector } from './render.js';
import { resolveRequest } from './request.js';
import { withLoras } from './lora.js';

export { METHODS, type GenerateOptions, type GenerateProgress, type GenerateResult, type MethodName } from './options.js';

/**
 * Text to image with Stable Diffusion (ONNX) from folders on disk: the request and the output paths are
 * checked, LoRAs applied, the images rendered (render.ts) and the PNGs written, appearing only once all of them
 * are complete.
 */
export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const { warnings, warn } = warningsCollector(o);
  const req = withLoras(resolveRequest(o), o, warn);
  const files = o.output !== undefined ? outputPaths(o.output, req.batch) : [];
  const { texts, ...r } = await render(req, o, nodeHost, warn);
  writeImages(r.images, files, texts, o.signal);
  return { ...r, files, warnings, timingsMs: { ...r.timingsMs, total: performance.now() - t0 } };
}
