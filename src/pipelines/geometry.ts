import type { ModelHost } from '../models/host.js';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import { openSdModelIn, type SdModel } from '../models/sd/sd-model.js';
import type { LegRole, Request } from './request.js';

interface LatentSpace {
  readonly channels: number;
  readonly factor?: number;
  readonly scaling: number;
  /** latents_mean / latents_std of the VAE config, as text ('none' when absent). */
  readonly stats: string;
}

async function latentSpaceOf(m: SdModel, probe: boolean): Promise<LatentSpace> {
  const factor = m.folder.vaeScaleFactor ?? (probe ? await m.vaeScaleFactor() : undefined);
  const { vaeLatentsMean: mean, vaeLatentsStd: std } = m.folder;
  return { channels: await m.latentChannels(), factor, scaling: m.folder.vaeScalingFactor, stats: mean && std ? JSON.stringify({ mean, std }) : 'none' };
}

/** A pair must share one latent space: same channels, same VAE (factor, scaling, latent statistics). Text encoders may differ. */
async function checkLatentSpaces(main: SdModel, others: { role: string; model: SdModel }[], warn: (m: string) => void): Promise<LatentSpace> {
  const ref = await latentSpaceOf(main, true);
  for (const { role, model } of others) {
    if (model === main) continue;
    const ls = await latentSpaceOf(model, model.host.files.exists(model.folder.components.vaeDecoder));
    const problems: string[] = [];
    if (ls.channels !== ref.channels) problems.push(`${ls.channels} latent channels vs ${ref.channels}`);
    if (ls.factor !== undefined && ls.factor !== ref.factor) problems.push(`VAE factor ${ls.factor} vs ${ref.factor}`);
    if (ls.scaling !== ref.scaling) problems.push(`VAE scaling_factor ${ls.scaling} vs ${ref.scaling}`);
    if (ls.stats !== ref.stats) problems.push(`VAE latents_mean/latents_std ${ls.stats} vs ${ref.stats}`);
    if (problems.length > 0) {
      throw new Error(`the ${role} model ${model.folder.dir} (${model.family}) does not share the main model's latent space (${main.folder.dir}, ${main.family}): ${problems.join(', ')}`);
    }
    if (ls.factor === undefined) warn(`the ${role} model ${model.folder.dir} states no VAE factor and has no VAE decoder to measure it: assumed equal to the main model's`);
  }
  return ref;
}

/** Where the run happens: the main model and the image and latent sizes. */
export interface Geometry {
  readonly mainModel: SdModel;
  readonly width: number;
  readonly height: number;
  readonly latentShape: readonly number[];
}

/**
 * Opens the folders (configs and files only, plus the UNet signature and, where no config states it, the VAE
 * factor) and fixes the image and latent sizes before any network runs.
 */
export async function prepareGeometry(
  req: Request,
  size: { readonly width?: number; readonly height?: number },
  host: ModelHost,
  runtime: RuntimeOptions,
  warn: (m: string) => void,
): Promise<Geometry> {
  const mainModel = openSdModelIn(host, req.legs.main.model, runtime, { vaeDecoder: true });
  // only the main folder decodes: a strong or weak folder may come without a VAE decoder
  const legModels = req.used.map((role: LegRole) => ({ role, model: openSdModelIn(host, req.legs[role].model, runtime, { vaeDecoder: false }) }));
  const space = await checkLatentSpaces(mainModel, legModels, warn);
  const factor = space.factor!;
  const width = size.width ?? mainModel.folder.defaultSize.width;
  const height = size.height ?? mainModel.folder.defaultSize.height;
  const multiple = 8 * factor;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < multiple || v % multiple !== 0) {
      throw new Error(`${name} ${v}: expected a positive multiple of ${multiple} (8 × the VAE factor ${factor})`);
    }
  }
  return { mainModel, width, height, latentShape: [req.batch, space.channels, height / factor, width / factor] };
}
