import type { ModelHost } from '../host.js';
import { checkOutputShape } from '../onnx/io.js';
import type { RuntimeOptions } from '../onnx/providers.js';
import { loadClipTokenizerFileIn, loadClipTokenizerIn } from '../tokenizer/load-from.js';
import type { ClipTokenizer } from '../tokenizer/clip.js';
import { checkSdFilesIn, readSdFolderIn, type SdFolder } from './folder-read.js';
import type { FinalNorm } from './clip-skip.js';
import type { TextEncoderStage } from './text-encoder.js';
import { SdUnet } from './unet.js';
import { SdVaeDecoder } from './vae.js';

/**
 * An opened model folder. Sessions load on first use and come from the shared session cache, so two legs
 * naming the same folder (a guidance or prompt pair) run on one UNet session; a weak model's VAE is never
 * loaded unless asked for.
 */
export class SdModel {
  private unetP?: Promise<SdUnet>;
  private encodersP?: Promise<TextEncoderStage[]>;
  private vaeP?: Promise<SdVaeDecoder>;
  private scaleP?: Promise<number>;
  private finalNorm?: FinalNorm;

  constructor(
    readonly folder: SdFolder,
    readonly runtime: RuntimeOptions,
    readonly host: ModelHost,
  ) {}

  get family() {
    return this.folder.family;
  }

  unet(): Promise<SdUnet> {
    this.unetP ??= this.host.openSession(this.folder.components.unet, this.runtime).then((s) => new SdUnet(s, this.folder.family));
    return this.unetP;
  }

  private tokenizer(path: string): ClipTokenizer {
    const ids = this.folder.tokenizerIds;
    const files = this.host.files;
    return path.endsWith('.json') ? loadClipTokenizerFileIn(files, path, ids ?? {}) : loadClipTokenizerIn(files, path);
  }

  encoders(): Promise<TextEncoderStage[]> {
    this.encodersP ??= (async () => {
      const c = this.folder.components;
      const xl = this.folder.family === 'sdxl';
      const first: TextEncoderStage = {
        tokenizer: this.tokenizer(c.tokenizer),
        session: await this.host.openSession(c.textEncoder, this.runtime),
        layer: xl ? 'penultimate' : 'last',
        pooled: false,
        finalNorm: xl ? undefined : () => (this.finalNorm ??= readFinalNorm(this.host, c.textEncoder)),
      };
      if (!xl) return [first];
      const second: TextEncoderStage = {
        tokenizer: this.tokenizer(c.tokenizer2!),
        session: await this.host.openSession(c.textEncoder2!, this.runtime),
        layer: 'penultimate',
        pooled: true,
      };
      return [first, second];
    })();
    return this.encodersP;
  }

  vae(): Promise<SdVaeDecoder> {
    this.vaeP ??= this.host.openSession(this.folder.components.vaeDecoder, this.runtime).then(
      (s) => {
        const { vaeLatentsMean: mean, vaeLatentsStd: std } = this.folder;
        return new SdVaeDecoder(s, this.folder.vaeScalingFactor, this.folder.vaeScaleFactor, this.folder.vaeForceUpcast, mean && std ? { mean, std } : undefined);
      },
    );
    return this.vaeP;
  }

  /** Pixels per latent cell: from the VAE config, else measured by decoding a small latent once. */
  vaeScaleFactor(): Promise<number> {
    if (this.folder.vaeScaleFactor !== undefined) return Promise.resolve(this.folder.vaeScaleFactor);
    this.scaleP ??= (async () => {
      const vae = await this.vae();
      const C = await this.latentChannels();
      const out = await vae.session.run({ latent_sample: { data: new Float32Array(C * 64), dims: [1, C, 8, 8] } }, ['sample']);
      const f = out.sample.dims.length === 4 ? out.sample.dims[2] / 8 : NaN;
      if (!Number.isInteger(f) || f < 1) {
        throw new Error(`${vae.session.path}: output 'sample' has shape [${out.sample.dims.join(', ')}] for an 8×8 latent, expected [1, 3, 8·f, 8·f] for a whole VAE factor f`);
      }
      // measured here, so only its consistency can be checked: the same whole factor on both axes
      checkOutputShape(out.sample, [1, 3, 8 * f, 8 * f], 'sample', vae.session.path);
      return f;
    })();
    return this.scaleP;
  }

  /** Latent channels: declared by the UNet when fixed, else from the VAE / UNet configs, else SD's 4. */
  async latentChannels(): Promise<number> {
    return (await this.unet()).latentChannels ?? this.folder.latentChannels ?? 4;
  }
}

/**
 * CLIP's final_layer_norm of a text encoder export, by its torch names, with layer_norm_eps from the
 * encoder's config.json (CLIP's 1e-5 when absent).
 */
function readFinalNorm(host: ModelHost, path: string): FinalNorm {
  const weight = host.readInitializer(path, 'text_model.final_layer_norm.weight');
  const bias = host.readInitializer(path, 'text_model.final_layer_norm.bias');
  if (!weight || !bias || weight.length !== bias.length) {
    throw new Error(`${path}: clip skip needs CLIP's final_layer_norm, but the export has no weights named text_model.final_layer_norm.weight and .bias`);
  }
  const config = host.files.join(path, '..', 'config.json');
  const eps = host.files.exists(config) ? (JSON.parse(host.files.readText(config)) as { layer_norm_eps?: unknown }).layer_norm_eps : undefined;
  return { weight, bias, eps: typeof eps === 'number' && eps > 0 ? eps : 1e-5 };
}

/** Models opened per host, folder and runtime: legs naming one folder share one SdModel (and its sessions). */
const opened = new WeakMap<ModelHost, Map<string, SdModel>>();

/** Opens (once per host, folder and runtime) a model folder, checking that the files generation needs exist. */
export function openSdModelIn(host: ModelHost, dir: string, runtime: RuntimeOptions = {}, need: { vaeDecoder?: boolean } = {}): SdModel {
  const folder = readSdFolderIn(host.files, dir);
  checkSdFilesIn(host.files, folder, need);
  const key = JSON.stringify([host.files.realpath(folder.dir), runtime.provider ?? 'cpu', runtime.threads ?? 0]);
  let models = opened.get(host);
  if (!models) opened.set(host, (models = new Map()));
  let m = models.get(key);
  if (!m) {
    m = new SdModel(folder, runtime, host);
    models.set(key, m);
  }
  return m;
}

/** Drops the opened models of a host (their sessions stay in the host's own cache). */
export function forgetSdModelsIn(host: ModelHost): void {
  opened.delete(host);
}
