/**
 * The original Stable Diffusion (LDM/SGM) UNet layout, as kohya's SDXL LoRAs name it, mapped to diffusers'
 * module names from the UNet's config (the inverse of diffusers' convert_ldm_unet_checkpoint):
 * input_blocks[0] = conv_in; each level has layers_per_block [resnet, attention] blocks then a downsampler
 * (`.0.op`, all levels but the last); middle_block = resnet, attention, resnet; output_blocks have
 * layers_per_block + 1 blocks per level with the upsampler last (`.1.conv`, or `.2.conv` after an attention).
 */
export interface UnetLayout {
  readonly block_out_channels: readonly number[];
  readonly layers_per_block: number | readonly number[];
  readonly down_block_types: readonly string[];
  readonly up_block_types: readonly string[];
}

const RESNET: Record<string, string> = {
  in_layers_0: 'norm1',
  in_layers_2: 'conv1',
  emb_layers_1: 'time_emb_proj',
  out_layers_0: 'norm2',
  out_layers_3: 'conv2',
  skip_connection: 'conv_shortcut',
};

const TOP: Record<string, string> = {
  time_embed_0: 'time_embedding_linear_1',
  time_embed_2: 'time_embedding_linear_2',
  label_emb_0_0: 'add_embedding_linear_1',
  label_emb_0_2: 'add_embedding_linear_2',
  out_0: 'conv_norm_out',
  out_2: 'conv_out',
  input_blocks_0_0: 'conv_in',
};

export function checkUnetLayout(config: unknown, where: string): UnetLayout {
  const c = config as Partial<UnetLayout> | null;
  const n = c?.block_out_channels?.length;
  const ok =
    c !== null &&
    Array.isArray(c.block_out_channels) &&
    n !== undefined &&
    n > 0 &&
    (typeof c.layers_per_block === 'number' || (Array.isArray(c.layers_per_block) && c.layers_per_block.length === n)) &&
    Array.isArray(c.down_block_types) &&
    c.down_block_types.length === n &&
    Array.isArray(c.up_block_types) &&
    c.up_block_types.length === n;
  if (!ok) throw new Error(`${where}: a UNet config with block_out_channels, layers_per_block, down_block_types and up_block_types of one length is needed to map LDM-named LoRA keys`);
  return c as UnetLayout;
}

/**
 * kohya's underscored LDM path (e.g. `input_blocks_4_1_transformer_blocks_0_attn1_to_q`) → diffusers' path in
 * the same underscored form (`down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q`); undefined when it
 * is not an LDM name or names a block this layout does not have.
 */
export function ldmToDiffusers(path: string, layout: UnetLayout): string | undefined {
  for (const [ldm, d] of Object.entries(TOP)) if (path === ldm) return d;
  const layers = (i: number) => (typeof layout.layers_per_block === 'number' ? layout.layers_per_block : layout.layers_per_block[i]);
  const levels = layout.block_out_channels.length;
  const hasAttn = (types: readonly string[], i: number) => types[i].startsWith('CrossAttn');
  let m = /^input_blocks_(\d+)_(\d+)_(.+)$/.exec(path);
  if (m) {
    const [idx, part, rest] = [Number(m[1]), Number(m[2]), m[3]];
    let at = 1;
    for (let i = 0; i < levels; i++) {
      const L = layers(i);
      if (idx < at + L) {
        const j = idx - at;
        if (part === 0) return resnet(`down_blocks_${i}_resnets_${j}`, rest);
        if (part === 1 && hasAttn(layout.down_block_types, i)) return `down_blocks_${i}_attentions_${j}_${rest}`;
        return undefined;
      }
      at += L;
      if (i < levels - 1) {
        if (idx === at) return part === 0 && rest === 'op' ? `down_blocks_${i}_downsamplers_0_conv` : undefined;
        at += 1;
      }
    }
    return undefined;
  }
  m = /^middle_block_(\d+)_(.+)$/.exec(path);
  if (m) {
    const [part, rest] = [Number(m[1]), m[2]];
    if (part === 0 || part === 2) return resnet(`mid_block_resnets_${part / 2}`, rest);
    return part === 1 ? `mid_block_attentions_0_${rest}` : undefined;
  }
  m = /^output_blocks_(\d+)_(\d+)_(.+)$/.exec(path);
  if (m) {
    const [idx, part, rest] = [Number(m[1]), Number(m[2]), m[3]];
    const rev = (i: number) => (typeof layout.layers_per_block === 'number' ? layout.layers_per_block : [...layout.layers_per_block].reverse()[i]);
    let at = 0;
    for (let i = 0; i < levels; i++) {
      const n = rev(i) + 1;
      if (idx < at + n) {
        const j = idx - at;
        const attn = hasAttn(layout.up_block_types, i);
        if (part === 0) return resnet(`up_blocks_${i}_resnets_${j}`, rest);
        if (part === 1 && attn) return `up_blocks_${i}_attentions_${j}_${rest}`;
        if (j === n - 1 && i < levels - 1 && part === (attn ? 2 : 1) && rest === 'conv') return `up_blocks_${i}_upsamplers_0_conv`;
        return undefined;
      }
      at += n;
    }
  }
  return undefined;
}

function resnet(prefix: string, rest: string): string | undefined {
  const d = RESNET[rest];
  return d ? `${prefix}_${d}` : undefined;
}

export function isLdmPath(path: string): boolean {
  return /^(input_blocks|middle_block|output_blocks)_\d/.test(path) || path in TOP;
}
