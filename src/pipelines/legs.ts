import { cfg, checkFinite, discreteGuided, guardDenoiser, type Denoiser, type DiscreteGuidedModel, type GuidedDenoiser, type StepClock, type Tensor } from '../core/index.js';
import { tensor } from '../core/index.js';
import type { ModelHost } from '../models/host.js';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import { openSdModelIn, type SdModel } from '../models/sd/sd-model.js';
import { encodePrompts, zeroEmbedsLike, type PromptEmbeds } from '../models/sd/text-encoder.js';
import { rescaledCfg } from './guidance-rescale.js';
import { sdxlTimeIds, stackConditions, type SdUnet, type UnetCondition } from '../models/sd/unet.js';

/**
 * One leg of W2SD (paper §4): a model folder (weights), a guidance scale and a prompt. The main step, the
 * strong (denoising) and the weak (inverting) model of a reflection are three legs; a guidance pair differs
 * only in scale, a prompt pair only in prompt, a weights pair in folder, a cumulative pair in two of these.
 */
export interface LegSpec {
  readonly model: string;
  readonly guidance: number;
  readonly prompt: string;
  /** undefined: no negative prompt (SDXL then uses zeros when its config says so); "" encodes the empty text. */
  readonly negativePrompt?: string;
  /** Scales of a runtime-scale LoRA folder's LoRAs for this leg (the lora pair: strong +0.8, weak −1.5). */
  readonly loraScales?: readonly number[];
}

export interface LegContext {
  readonly host: ModelHost;
  readonly runtime: RuntimeOptions;
  readonly batch: number;
  readonly width: number;
  readonly height: number;
  readonly warn: (msg: string) => void;
  /** Only the main leg's folder needs a VAE decoder. */
  readonly needVae?: boolean;
  /** diffusers' clip_skip, for the prompt (diffusers never applies it to the negative prompt). */
  readonly clipSkip?: number;
}

export interface BuiltLeg {
  readonly spec: LegSpec;
  readonly model: SdModel;
  readonly guided: GuidedDenoiser;
  /** CFG at the leg's scale (1: conditional half only, 0: unconditional only, else one batch of 2B). */
  readonly denoiser: Denoiser;
}

function toCondition(e: PromptEmbeds, timeIds: number[] | undefined, loraScales: readonly number[] = []): UnetCondition {
  const B = e.dims[0];
  return {
    hidden: e.hidden,
    hiddenDims: e.dims,
    textEmbeds: e.pooled,
    textEmbedsDim: e.pooledDim,
    timeIds: timeIds ? Float32Array.from({ length: B * timeIds.length }, (_, i) => timeIds[i % timeIds.length]) : undefined,
    timeIdsDim: timeIds?.length,
    loraScales: loraScales.map((s) => new Float32Array(B).fill(s)),
  };
}

function doubled(x: Tensor): Tensor {
  const out = new Float32Array(x.data.length * 2);
  out.set(x.data, 0);
  out.set(x.data, x.data.length);
  return tensor(out, [x.shape[0] * 2, ...x.shape.slice(1)]);
}

/** A leg's model with its prompts encoded: the UNet conditions of the halves its scale needs. */
export interface EncodedLeg {
  readonly spec: LegSpec;
  readonly model: SdModel;
  readonly unet: SdUnet;
  /** Absent when the scale is 0 (unconditional half only). */
  readonly cond?: UnetCondition;
  /** Absent when the scale is 1 (conditional half only). */
  readonly uncond?: UnetCondition;
}

/** Loads the leg's UNet and text encoders and encodes the prompts of the halves its guidance scale needs. */
export async function encodeLeg(spec: LegSpec, ctx: LegContext): Promise<EncodedLeg> {
  if (!Number.isFinite(spec.guidance)) throw new Error(`guidance scale of leg ${spec.model}: expected a finite number, got ${spec.guidance}`);
  const model = openSdModelIn(ctx.host, spec.model, ctx.runtime, { vaeDecoder: ctx.needVae ?? false });
  const [unet, encoders] = await Promise.all([model.unet(), model.encoders()]);
  const timeIds = model.family === 'sdxl' ? sdxlTimeIds(ctx.height, ctx.width) : undefined;
  const B = ctx.batch;
  const needCond = spec.guidance !== 0;
  const needUncond = spec.guidance !== 1;
  const zeroNegative = spec.negativePrompt === undefined && model.folder.forceZerosForEmptyPrompt;
  const condEmbeds = needCond || (needUncond && zeroNegative) ? await encodePrompts(encoders, Array(B).fill(spec.prompt), ctx.warn, ctx.clipSkip, spec.loraScales) : undefined;
  let uncondEmbeds: PromptEmbeds | undefined;
  if (needUncond) {
    uncondEmbeds = zeroNegative ? zeroEmbedsLike(condEmbeds!) : await encodePrompts(encoders, Array(B).fill(spec.negativePrompt ?? ''), ctx.warn, undefined, spec.loraScales);
  }
  return {
    spec,
    model,
    unet,
    cond: needCond ? toCondition(condEmbeds!, timeIds, spec.loraScales) : undefined,
    uncond: uncondEmbeds && toCondition(uncondEmbeds, timeIds, spec.loraScales),
  };
}

/** How a leg's denoiser is built: its name in errors, the run's step clock, diffusers' guidance_rescale φ. */
export interface LegOptions {
  readonly role?: string;
  readonly clock?: StepClock;
  readonly guidanceRescale?: number;
}

/** Each CFG half checked on its own, so NaN or Inf names the half it came from (the sum would hide which). */
function guardHalves(g: GuidedDenoiser, role: string, clock: StepClock): GuidedDenoiser {
  const cond = `${role} (conditional half)`;
  const uncond = `${role} (unconditional half)`;
  return {
    async both(x, at) {
      const [c, u] = await g.both(x, at);
      checkFinite(c, cond, clock, at);
      checkFinite(u, uncond, clock, at);
      return [c, u];
    },
    cond: guardDenoiser(g.cond, cond, clock),
    uncond: guardDenoiser(g.uncond, uncond, clock),
  };
}

/**
 * The leg as a σ-space denoiser: CFG at its scale over its UNet, both halves in one batch of 2B, with
 * diffusers' guidance_rescale where both halves run (at scale 1 it would be the identity; at 0 there is no
 * conditional half to rescale to).
 */
export function legDenoiser(leg: EncodedLeg, o: LegOptions = {}): BuiltLeg {
  const { unet, cond, uncond, spec, model } = leg;
  // diffusers' order: unconditional half first
  const both = cond && uncond ? stackConditions([uncond, cond]) : undefined;
  const network: DiscreteGuidedModel = {
    async both(xt, t) {
      if (!both) throw new Error('internal: a CFG batch was requested from a leg built for one half only');
      const out = await unet.predict(doubled(xt), t, both);
      const n = xt.data.length;
      return [out.slice(n), out.slice(0, n)];
    },
    cond: (xt, t) => {
      if (!cond) throw new Error('internal: conditional half requested from a leg with guidance 0');
      return unet.predict(xt, t, cond);
    },
    uncond: (xt, t) => {
      if (!uncond) throw new Error('internal: unconditional half requested from a leg with guidance 1');
      return unet.predict(xt, t, uncond);
    },
  };
  const prediction = model.folder.prediction;
  const raw = discreteGuided(network, prediction);
  const guided = o.clock ? guardHalves(raw, o.role ?? 'leg', o.clock) : raw;
  const phi = o.guidanceRescale ?? 0;
  const denoiser = phi > 0 && both ? rescaledCfg(guided, spec.guidance, phi, prediction) : cfg(guided, spec.guidance);
  return { spec, model, guided, denoiser };
}

export async function buildLeg(spec: LegSpec, ctx: LegContext): Promise<BuiltLeg> {
  return legDenoiser(await encodeLeg(spec, ctx));
}
