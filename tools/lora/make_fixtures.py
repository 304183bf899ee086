"""Test models and LoRA files for w2sd's LoRA support, made with PyTorch and torch.onnx.export.

Writes test/fixtures/lora/:
  unet.onnx, text_encoder.onnx   a tiny UNet with diffusers' module names (conv_in, time_embedding,
                                 down_blocks.N.resnets / attentions.transformer_blocks.attn1/attn2/ff, proj_in and
                                 proj_out as Linear (down/up blocks) and as 1x1 Conv (mid block), mid_block,
                                 up_blocks, conv_out) and a CLIP-shaped text encoder (text_model.encoder.layers.N.
                                 self_attn.q_proj ...), exported by the TorchScript exporter exactly as optimum
                                 does, so Linear weights become anonymous transposed `onnx::MatMul_*` initializers
  unet_config.json               the UNet's diffusers config (the LDM-name mapping reads it)
  *.safetensors                  LoRA files in kohya, kohya-LDM (SDXL-style), PEFT, diffusers and old-diffusers
                                 layouts (written by the format's definition: header + raw little-endian data)
  references.json                inputs, and the outputs of PyTorch-merged models (W + s*(alpha/rank)*up@down)
                                 exported to ONNX and run in ONNX Runtime (by tools/lora/record_references.mjs)

Run: /usr/bin/python3 tools/lora/make_fixtures.py   (about a minute; needs python3-torch and node)
"""
import copy
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'lora')
SCALES = [0.8, -1.5]

CONFIG = {
    '_class_name': 'UNet2DConditionModel',
    'in_channels': 4, 'out_channels': 4, 'sample_size': 8,
    'block_out_channels': [8, 16], 'layers_per_block': 2,
    'down_block_types': ['DownBlock2D', 'CrossAttnDownBlock2D'],
    'up_block_types': ['CrossAttnUpBlock2D', 'UpBlock2D'],
    'cross_attention_dim': 32, 'attention_head_dim': 8, 'norm_num_groups': 4,
    # diffusers has one flag for the whole UNet; this test UNet uses both forms on purpose (see module doc)
    'use_linear_projection': True,
}
TE = {'vocab': 1000, 'hidden': 32, 'layers': 2, 'heads': 4, 'intermediate': 64, 'positions': 77}


# ---------------------------------------------------------------- UNet with diffusers' module names
class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.norm1 = nn.GroupNorm(4, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(4, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dim, context, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context, dim, bias=False)
        self.to_v = nn.Linear(context, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])

    def forward(self, x, context=None):
        context = x if context is None else context
        b, n, c = x.shape
        h = self.heads
        q = self.to_q(x).reshape(b, -1, h, c // h).transpose(1, 2)
        k = self.to_k(context).reshape(b, -1, h, c // h).transpose(1, 2)
        v = self.to_v(context).reshape(b, -1, h, c // h).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // h), dim=-1)
        o = (a @ v).transpose(1, 2).reshape(b, -1, c)
        return self.to_out[1](self.to_out[0](o))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, context, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    def __init__(self, dim, context, heads, linear):
        super().__init__()
        self.linear = linear
        self.norm = nn.GroupNorm(4, dim)
        self.proj_in = nn.Linear(dim, dim) if linear else nn.Conv2d(dim, dim, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(dim, context, heads)])
        self.proj_out = nn.Linear(dim, dim) if linear else nn.Conv2d(dim, dim, 1)

    def forward(self, x, context):
        b, c, hh, ww = x.shape
        h = self.norm(x)
        if self.linear:
            h = self.proj_in(h.permute(0, 2, 3, 1).reshape(b, hh * ww, c))
        else:
            h = self.proj_in(h).permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        for blk in self.transformer_blocks:
            h = blk(h, context)
        if self.linear:
            h = self.proj_out(h).reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        else:
            h = self.proj_out(h.reshape(b, hh, ww, c).permute(0, 3, 1, 2))
        return h + x


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


class Block(nn.Module):
    """A plain container (diffusers' Embeddings / Encoder modules are called through their parents here)."""


class DownBlock2D(nn.Module):
    """DownBlock2D / CrossAttnDownBlock2D: called as a module, so exported node names carry `/down_blocks.N/`."""

    def __init__(self, resnets, attentions=None, downsample=None):
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        if attentions is not None:
            self.attentions = nn.ModuleList(attentions)
        if downsample is not None:
            self.downsamplers = nn.ModuleList([downsample])

    def forward(self, h, temb, context):
        skips = []
        for j, r in enumerate(self.resnets):
            h = r(h, temb)
            if hasattr(self, 'attentions'):
                h = self.attentions[j](h, context)
            skips.append(h)
        if hasattr(self, 'downsamplers'):
            h = self.downsamplers[0](h)
            skips.append(h)
        return h, skips


class MidBlock(nn.Module):
    def __init__(self, c, ctx, heads, temb):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb), ResnetBlock2D(c, c, temb)])
        self.attentions = nn.ModuleList([Transformer2DModel(c, ctx, heads, False)])

    def forward(self, h, temb, context):
        h = self.resnets[0](h, temb)
        return self.resnets[1](self.attentions[0](h, context), temb)


class UpBlock2D(nn.Module):
    def __init__(self, resnets, attentions=None, upsample=None):
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        if attentions is not None:
            self.attentions = nn.ModuleList(attentions)
        if upsample is not None:
            self.upsamplers = nn.ModuleList([upsample])

    def forward(self, h, skips, temb, context):
        for j, r in enumerate(self.resnets):
            h = r(torch.cat([h, skips.pop()], dim=1), temb)
            if hasattr(self, 'attentions'):
                h = self.attentions[j](h, context)
        if hasattr(self, 'upsamplers'):
            h = self.upsamplers[0](h)
        return h


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, t):
        return self.linear_2(F.silu(self.linear_1(t)))


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        c0, c1 = CONFIG['block_out_channels']
        ctx, hd, L = CONFIG['cross_attention_dim'], CONFIG['attention_head_dim'], CONFIG['layers_per_block']
        temb = 4 * c0
        self.conv_in = nn.Conv2d(4, c0, 3, padding=1)
        self.time_embedding = TimestepEmbedding(c0, temb)
        heads = c1 // hd
        self.down_blocks = nn.ModuleList([
            DownBlock2D([ResnetBlock2D(c0, c0, temb) for _ in range(L)], downsample=Downsample2D(c0)),
            DownBlock2D([ResnetBlock2D(c0 if j == 0 else c1, c1, temb) for j in range(L)],
                        [Transformer2DModel(c1, ctx, heads, True) for _ in range(L)]),
        ])
        self.mid_block = MidBlock(c1, ctx, heads, temb)
        # diffusers' skip widths: the last resnet of a block takes the next-shallower block's width
        self.up_blocks = nn.ModuleList([
            UpBlock2D([ResnetBlock2D(c1 + (c1 if j < L else c0), c1, temb) for j in range(L + 1)],
                      [Transformer2DModel(c1, ctx, heads, True) for _ in range(L + 1)], Upsample2D(c1)),
            UpBlock2D([ResnetBlock2D((c1 if j == 0 else c0) + c0, c0, temb) for j in range(L + 1)]),
        ])
        self.conv_norm_out = nn.GroupNorm(4, c0)
        self.conv_out = nn.Conv2d(c0, 4, 3, padding=1)

    def time_proj(self, t):
        half = CONFIG['block_out_channels'][0] // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t.float()[:, None] * freqs[None, :]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    def forward(self, sample, timestep, encoder_hidden_states):
        temb = self.time_embedding(self.time_proj(timestep))
        h = self.conv_in(sample)
        skips = [h]
        for block in self.down_blocks:
            h, more = block(h, temb, encoder_hidden_states)
            skips += more
        h = self.mid_block(h, temb, encoder_hidden_states)
        for block in self.up_blocks:
            h = block(h, skips, temb, encoder_hidden_states)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


# ---------------------------------------------------------------- CLIP-shaped text encoder
class CLIPAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, mask):
        b, n, c = x.shape
        h = self.heads
        q = self.q_proj(x).reshape(b, n, h, c // h).transpose(1, 2)
        k = self.k_proj(x).reshape(b, n, h, c // h).transpose(1, 2)
        v = self.v_proj(x).reshape(b, n, h, c // h).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // h) + mask, dim=-1)
        return self.out_proj((a @ v).transpose(1, 2).reshape(b, n, c))


class CLIPMLP(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.fc1 = nn.Linear(d, inner)
        self.fc2 = nn.Linear(inner, d)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu, CLIP's activation


class CLIPEncoderLayer(nn.Module):
    def __init__(self, d, heads, inner):
        super().__init__()
        self.self_attn = CLIPAttention(d, heads)
        self.layer_norm1 = nn.LayerNorm(d)
        self.mlp = CLIPMLP(d, inner)
        self.layer_norm2 = nn.LayerNorm(d)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.token_embedding = nn.Embedding(TE['vocab'], d)
        self.position_embedding = nn.Embedding(TE['positions'], d)

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[1], dtype=torch.int64)
        return self.token_embedding(input_ids) + self.position_embedding(pos)[None]


class CLIPEncoder(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(d, TE['heads'], TE['intermediate']) for _ in range(TE['layers'])])

    def forward(self, x):
        n = x.shape[1]
        mask = torch.triu(torch.full((n, n), -1e9), diagonal=1)
        for layer in self.layers:
            x = layer(x, mask)
        return x


class TextModel(nn.Module):
    def __init__(self):
        super().__init__()
        d = TE['hidden']
        self.embeddings = CLIPTextEmbeddings(d)
        self.encoder = CLIPEncoder(d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, input_ids):
        last = self.final_layer_norm(self.encoder(self.embeddings(input_ids)))
        return last, last[:, -1]


class TinyTextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.text_model = TextModel()

    def forward(self, input_ids):
        return self.text_model(input_ids)


# ---------------------------------------------------------------- LoRA files
def targets_unet(unet):
    """Every Linear and Conv2d of the UNet, by diffusers name: what a LoCon-style LoRA can reach."""
    return {n: m for n, m in unet.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}


def targets_te(te):
    return {n: m for n, m in te.named_modules() if isinstance(m, nn.Linear)}


def make_pair(module, rank, gen, conv_kernel=True):
    """LoRA factors for one module: down [r, in(, k, k)], up [out, r(, 1, 1)] (kohya's LoCon: 3x3 down, 1x1 up)."""
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0] if conv_kernel else 1
        down = torch.randn(rank, module.in_channels, k, k, generator=gen) * 0.3
        up = torch.randn(module.out_channels, rank, 1, 1, generator=gen) * 0.3
    else:
        down = torch.randn(rank, module.in_features, generator=gen) * 0.3
        up = torch.randn(module.out_features, rank, generator=gen) * 0.3
    return down, up


def write_safetensors(path, tensors, metadata=None, dtype='F32'):
    header, blobs, off = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, t in tensors.items():
        a = t.detach().numpy()
        if dtype == 'F16' and name.endswith('.weight'):
            raw, dt = a.astype('<f2').tobytes(), 'F16'
        else:
            raw, dt = a.astype('<f4').tobytes(), 'F32'
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# The LDM/SGM (original Stable Diffusion) names of this config's modules, written out by hand from the layout
# of ldm's UNetModel (input_blocks[0] = conv_in; per level: layers_per_block [resnet, attention] blocks then a
# downsampler; middle_block = resnet, attention, resnet; output_blocks: layers_per_block + 1 per level, upsampler
# last). Independent of the TypeScript mapping that tests read it through.
LDM_PREFIX = {
    'input_blocks_0_0': 'conv_in',
    'time_embed_0': 'time_embedding.linear_1', 'time_embed_2': 'time_embedding.linear_2',
    'input_blocks_1_0': 'down_blocks.0.resnets.0', 'input_blocks_2_0': 'down_blocks.0.resnets.1',
    'input_blocks_3_0_op': 'down_blocks.0.downsamplers.0.conv',
    'input_blocks_4_0': 'down_blocks.1.resnets.0', 'input_blocks_4_1': 'down_blocks.1.attentions.0',
    'input_blocks_5_0': 'down_blocks.1.resnets.1', 'input_blocks_5_1': 'down_blocks.1.attentions.1',
    'middle_block_0': 'mid_block.resnets.0', 'middle_block_1': 'mid_block.attentions.0', 'middle_block_2': 'mid_block.resnets.1',
    'output_blocks_0_0': 'up_blocks.0.resnets.0', 'output_blocks_0_1': 'up_blocks.0.attentions.0',
    'output_blocks_1_0': 'up_blocks.0.resnets.1', 'output_blocks_1_1': 'up_blocks.0.attentions.1',
    'output_blocks_2_0': 'up_blocks.0.resnets.2', 'output_blocks_2_1': 'up_blocks.0.attentions.2',
    'output_blocks_2_2_conv': 'up_blocks.0.upsamplers.0.conv',
    'output_blocks_3_0': 'up_blocks.1.resnets.0', 'output_blocks_4_0': 'up_blocks.1.resnets.1', 'output_blocks_5_0': 'up_blocks.1.resnets.2',
    'out_2': 'conv_out',
}
LDM_RESNET = {'in_layers_2': 'conv1', 'emb_layers_1': 'time_emb_proj', 'out_layers_3': 'conv2', 'skip_connection': 'conv_shortcut'}


def ldm_name(diffusers):
    for ldm, d in sorted(LDM_PREFIX.items(), key=lambda kv: -len(kv[1])):
        if diffusers == d:
            return ldm
        if diffusers.startswith(d + '.'):
            rest = diffusers[len(d) + 1:]
            if '.resnets.' in d:
                inv = {v: k for k, v in LDM_RESNET.items()}
                return f'{ldm}_{inv[rest]}'
            return f'{ldm}_{rest.replace(".", "_")}'
    raise KeyError(diffusers)


def lora_files(unet, te):
    """{file: (tensors, metadata, {component: {module: (down, up, alpha)}})} for every layout."""
    gen = torch.Generator().manual_seed(7)
    ut, tt = targets_unet(unet), targets_te(te)
    attn = [n for n in ut if '.transformer_blocks.' in n or n.endswith(('proj_in', 'proj_out'))]
    files = {}

    # kohya, diffusers-named (SD 1.x trainers): every Linear/Conv of the UNet (LoCon), all TE linears; per-module
    # alpha on most modules; the rest fall back to ss_network_alpha
    tensors, plan = {}, {'unet': {}, 'text_encoder': {}}
    for comp, prefix, mods in [('unet', 'lora_unet_', ut), ('text_encoder', 'lora_te_', tt)]:
        for i, (n, m) in enumerate(mods.items()):
            r = [4, 2, 3][i % 3]
            down, up = make_pair(m, r, gen)
            k = prefix + n.replace('.', '_')
            tensors[k + '.lora_down.weight'], tensors[k + '.lora_up.weight'] = down, up
            if i % 4 == 3:
                alpha = 2.0  # from ss_network_alpha
            else:
                alpha = [1.0, 8.0, 3.0][i % 3]
                tensors[k + '.alpha'] = torch.tensor(alpha)
            plan[comp][n] = (down, up, alpha)
    files['kohya'] = (tensors, {'ss_network_alpha': '2', 'ss_network_dim': '4', 'ss_base_model_version': 'sd_v1'}, plan)

    # kohya SDXL-style: the UNet in LDM names (attention blocks and LoCon convs), lora_te1_ for the first encoder
    tensors, plan = {}, {'unet': {}, 'text_encoder': {}}
    for i, n in enumerate(ut):
        m = ut[n]
        r = 4
        down, up = make_pair(m, r, gen)
        k = 'lora_unet_' + ldm_name(n)
        alpha = [4.0, 1.0][i % 2]
        tensors[k + '.lora_down.weight'], tensors[k + '.lora_up.weight'], tensors[k + '.alpha'] = down, up, torch.tensor(alpha)
        plan['unet'][n] = (down, up, alpha)
    for n, m in tt.items():
        down, up = make_pair(m, 2, gen)
        k = 'lora_te1_' + n.replace('.', '_')
        tensors[k + '.lora_down.weight'], tensors[k + '.lora_up.weight'], tensors[k + '.alpha'] = down, up, torch.tensor(1.0)
        plan['text_encoder'][n] = (down, up, 1.0)
    files['kohya_ldm'] = (tensors, {'ss_network_alpha': '16', 'ss_base_model_version': 'sdxl_base_v1-0'}, plan)

    # PEFT (diffusers >= 0.24 save_lora_weights): lora_A/lora_B, no alpha in the file -> alpha = rank; F16 weights
    tensors, plan = {}, {'unet': {}, 'text_encoder': {}}
    for comp, prefix, names in [('unet', 'unet.', attn), ('text_encoder', 'text_encoder.', list(tt))]:
        mods = ut if comp == 'unet' else tt
        for n in names:
            down, up = make_pair(mods[n], 4, gen)
            # the file stores F16: the reference merges exactly the values the file holds
            down, up = down.half().float(), up.half().float()
            tensors[f'{prefix}{n}.lora_A.weight'], tensors[f'{prefix}{n}.lora_B.weight'] = down, up
            plan[comp][n] = (down, up, 4.0)
    files['peft'] = (tensors, None, plan)

    # diffusers' own pre-PEFT format (LoRACompatibleLinear/Conv): unet.<module>.lora.down/up, with .alpha keys as
    # diffusers writes when converting kohya files; text encoder via lora_linear_layer
    tensors, plan = {}, {'unet': {}, 'text_encoder': {}}
    for n in attn:
        down, up = make_pair(ut[n], 2, gen)
        tensors[f'unet.{n}.lora.down.weight'], tensors[f'unet.{n}.lora.up.weight'] = down, up
        tensors[f'unet.{n}.alpha'] = torch.tensor(1.0)
        plan['unet'][n] = (down, up, 1.0)
    for n, m in tt.items():
        down, up = make_pair(m, 2, gen)
        tensors[f'text_encoder.{n}.lora_linear_layer.down.weight'], tensors[f'text_encoder.{n}.lora_linear_layer.up.weight'] = down, up
        plan['text_encoder'][n] = (down, up, 2.0)
    files['diffusers'] = (tensors, None, plan)

    # old diffusers attention processors (pytorch_lora_weights of diffusers <= 0.16): to_q_lora ... to_out_lora
    tensors, plan = {}, {'unet': {}}
    proc = {'to_q': 'to_q_lora', 'to_k': 'to_k_lora', 'to_v': 'to_v_lora', 'to_out.0': 'to_out_lora'}
    for n in attn:
        for mod, lname in proc.items():
            if n.endswith('.' + mod) and ('.attn1.' in n or '.attn2.' in n):
                base = n[: -len(mod) - 1]
                down, up = make_pair(ut[n], 4, gen)
                tensors[f'{base}.processor.{lname}.down.weight'], tensors[f'{base}.processor.{lname}.up.weight'] = down, up
                plan['unet'][n] = (down, up, 4.0)
    files['diffusers_old'] = (tensors, None, plan)
    return files


def merged(model, plan, scale):
    m = copy.deepcopy(model)
    mods = dict(m.named_modules())
    with torch.no_grad():
        for n, (down, up, alpha) in plan.items():
            w = mods[n].weight
            delta = (up.flatten(1) @ down.flatten(1)).reshape(w.shape)
            w += scale * (alpha / down.shape[0]) * delta
    return m


def export_unet(model, path):
    s = torch.zeros(1, 4, 8, 8)
    t = torch.tensor([10], dtype=torch.int64)
    e = torch.zeros(1, 5, 32)
    torch.onnx.export(model, (s, t, e), path, input_names=['sample', 'timestep', 'encoder_hidden_states'],
                      output_names=['out_sample'], opset_version=14, do_constant_folding=True,
                      dynamic_axes={'sample': {0: 'batch', 2: 'height', 3: 'width'}, 'timestep': {0: 'batch'},
                                    'encoder_hidden_states': {0: 'batch', 1: 'sequence'}, 'out_sample': {0: 'batch', 2: 'height', 3: 'width'}})


def export_te(model, path):
    ids = torch.zeros(1, 77, dtype=torch.int64)
    torch.onnx.export(model, (ids,), path, input_names=['input_ids'], output_names=['last_hidden_state', 'pooler_output'],
                      opset_version=14, do_constant_folding=True,
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'last_hidden_state': {0: 'batch', 1: 'sequence'}, 'pooler_output': {0: 'batch'}})


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    unet, te = TinyUNet().eval(), TinyTextEncoder().eval()
    with torch.no_grad():  # non-trivial norms and biases, so no term of the merge hides behind a zero
        for p in list(unet.parameters()) + list(te.parameters()):
            p.add_(torch.randn_like(p) * 0.05)
    export_unet(unet, os.path.join(OUT, 'unet.onnx'))
    export_te(te, os.path.join(OUT, 'text_encoder.onnx'))
    with open(os.path.join(OUT, 'unet_config.json'), 'w') as f:
        json.dump(CONFIG, f, indent=1)
    files = lora_files(unet, te)
    gen = torch.Generator().manual_seed(11)
    inputs = {
        'sample': (torch.randn(2, 4, 8, 8, generator=gen)).tolist(),
        'timestep': [981, 21],
        'encoder_hidden_states': (torch.randn(2, 7, 32, generator=gen)).tolist(),
        'input_ids': [[0, 17, 250, 999, 3, 1, 1, 1]],
    }
    tmp = tempfile.mkdtemp(prefix='w2sd-lora-ref-')
    jobs = []
    for name, (tensors, meta, plan) in files.items():
        write_safetensors(os.path.join(OUT, f'{name}.safetensors'), tensors, meta, 'F16' if name == 'peft' else 'F32')
        for s in SCALES:
            u = os.path.join(tmp, f'{name}_unet_{s}.onnx')
            export_unet(merged(unet, plan['unet'], s), u)
            jobs.append({'file': name, 'scale': s, 'component': 'unet', 'model': u})
            if 'text_encoder' in plan:
                t = os.path.join(tmp, f'{name}_te_{s}.onnx')
                export_te(merged(te, plan['text_encoder'], s), t)
                jobs.append({'file': name, 'scale': s, 'component': 'text_encoder', 'model': t})
    jobs.append({'file': None, 'scale': 0, 'component': 'unet', 'model': os.path.join(OUT, 'unet.onnx')})
    jobs.append({'file': None, 'scale': 0, 'component': 'text_encoder', 'model': os.path.join(OUT, 'text_encoder.onnx')})
    counts = {name: {c: len(p) for c, p in plan.items()} for name, (_, _, plan) in files.items()}
    spec = {'inputs': inputs, 'jobs': jobs, 'targets': counts, 'out': os.path.join(OUT, 'references.json')}
    with open(os.path.join(tmp, 'jobs.json'), 'w') as f:
        json.dump(spec, f)
    subprocess.run(['node', os.path.join(ROOT, 'tools', 'lora', 'record_references.mjs'), os.path.join(tmp, 'jobs.json')], check=True, cwd=ROOT)
    print('wrote', OUT)


if __name__ == '__main__':
    sys.exit(main())
