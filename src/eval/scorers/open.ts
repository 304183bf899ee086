import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSession, releaseAllSessions, type OnnxSession } from '../../models/onnx/session.js';
import type { RuntimeOptions } from '../../models/onnx/providers.js';
import { ClipModel, assertFiniteArray, rowCosines } from './clip.js';
import { DinoModel, clipImageEmbedder, meanCosines, referenceImages, type ImageEmbedder } from './personalization.js';
import type { ImageScorer, ScoreInput } from './types.js';

/*
 * The reward scorers of the paper's tables, all on a CLIP model in optimum's layout:
 *   clipscore = 100·max(cos(text, image), 0)            torchmetrics' CLIPScore
 *   pickscore = logit_scale.exp()·cos                    PickScore_v1 (diagonal of logits_per_image)
 *   hpsv2     = 100·cos                                  HPS v2.1 in the Hugging Face CLIP layout
 *   aesthetic = MLP(image_embeds / ‖image_embeds‖)        LAION improved aesthetic predictor (ONNX head)
 * and, against a folder of reference images (personalization.ts), clip-i and dino.
 */

export const SCORER_NAMES = ['clipscore', 'pickscore', 'hpsv2', 'aesthetic', 'clip-i', 'dino'] as const;
/** Scorers that compare against reference images instead of the prompt. */
export const REFERENCE_SCORERS: readonly ScorerName[] = ['clip-i', 'dino'];
export type ScorerName = (typeof SCORER_NAMES)[number];

export interface ScorerRequest {
  readonly name: string;
  readonly kind: ScorerName | string;
  readonly path: string;
  /** aesthetic: the head ONNX (default PATH/aesthetic.onnx). */
  readonly head?: string;
  /** clip-i, dino: the folder of reference images. */
  readonly references?: string;
}

const clipModels = new Map<string, Promise<ClipModel>>();

/** One ClipModel per folder and runtime in the process (several scorers may share a folder). */
function clipModel(dir: string, runtime: RuntimeOptions): Promise<ClipModel> {
  const key = JSON.stringify([dir, runtime]);
  let m = clipModels.get(key);
  if (!m) {
    m = ClipModel.open(dir, runtime);
    clipModels.set(key, m);
    m.catch(() => clipModels.delete(key));
  }
  return m;
}

/** Forgets the opened scorer models and releases every ONNX session (sessions are shared process-wide). */
export async function releaseScorerModels(): Promise<void> {
  clipModels.clear();
  await releaseAllSessions();
}

async function openHead(path: string): Promise<OnnxSession> {
  if (!existsSync(path)) throw new Error(`aesthetic head ${path}: not found (the LAION MLP exported to ONNX; see docs/EVAL.md)`);
  const s = await openSession(path);
  if (s.inputs.length !== 1 || s.outputs.length !== 1) throw new Error(`aesthetic head ${path}: expected one input and one output, got ${s.inputs.length} and ${s.outputs.length}`);
  return s;
}

export async function openScorer(r: ScorerRequest, runtime: RuntimeOptions = {}): Promise<ImageScorer> {
  if (!(SCORER_NAMES as readonly string[]).includes(r.kind)) throw new Error(`scorer ${r.name}: kind ${JSON.stringify(r.kind)}; expected one of ${SCORER_NAMES.join(', ')}`);
  const kind = r.kind as ScorerName;
  if (REFERENCE_SCORERS.includes(kind)) return openReferenceScorer(r, kind, runtime);
  const model = await clipModel(r.path, runtime);
  const head = kind === 'aesthetic' ? await openHead(r.head ?? join(r.path, 'aesthetic.onnx')) : undefined;
  return {
    name: r.name,
    kind,
    async score(batch: readonly ScoreInput[]): Promise<number[]> {
      if (batch.length === 0) return [];
      const out = await model.run(
        batch.map((b) => b.image),
        batch.map((b) => b.prompt),
      );
      const B = batch.length;
      switch (kind) {
        case 'clipscore':
          return rowCosines(out.textEmbeds, out.imageEmbeds, B, out.dim).map((c) => 100 * Math.max(c, 0));
        case 'hpsv2':
          return rowCosines(out.textEmbeds, out.imageEmbeds, B, out.dim).map((c) => 100 * c);
        case 'pickscore':
          return Array.from(out.diagonalLogits);
        default: {
          const name = head!.inputs[0].name;
          const res = await head!.run({ [name]: { data: out.imageEmbeds, dims: [B, out.dim] } });
          const y = Object.values(res)[0];
          if (y.data.length !== B) throw new Error(`aesthetic head ${head!.path}: ${y.data.length} outputs for a batch of ${B}`);
          assertFiniteArray(y.data, `aesthetic head ${head!.path}`);
          return Array.from(y.data);
        }
      }
    },
  };
}

const REFERENCE_BATCH = 8;

async function openReferenceScorer(r: ScorerRequest, kind: ScorerName, runtime: RuntimeOptions): Promise<ImageScorer> {
  if (!r.references) throw new Error(`scorer ${r.name} (${kind}): needs a folder of reference images (--references DIR, or "references" in the config)`);
  const refs = referenceImages(r.references);
  const embedder: ImageEmbedder = kind === 'dino' ? await DinoModel.open(r.path, runtime) : clipImageEmbedder(await clipModel(r.path, runtime));
  const refEmbeds: Float64Array[] = [];
  for (let i = 0; i < refs.length; i += REFERENCE_BATCH) refEmbeds.push(...(await embedder.embed(refs.slice(i, i + REFERENCE_BATCH))));
  return {
    name: r.name,
    kind,
    async score(batch: readonly ScoreInput[]): Promise<number[]> {
      if (batch.length === 0) return [];
      return meanCosines(await embedder.embed(batch.map((b) => b.image)), refEmbeds);
    },
  };
}
