"""A small class-conditional UNet for 28x28x1 images (DDPM-style: residual blocks, one attention level).

28 -> 14 -> 7 by stride-2 convolutions, so MNIST needs no padding to 32. The class embedding has
num_classes + 1 rows: the last row is the null class that classifier-free guidance needs.
Attention is written out by hand (no scaled_dot_product_attention) so the legacy ONNX exporter of
both old (1.13) and new (2.x) torch produces plain MatMul/Softmax.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim):
    """Sinusoidal features of a float timestep, as in DDPM/diffusers (flip_sin_to_cos, shift 0)."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * (-math.log(10000.0) / half))
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def group_norm(ch):
    return nn.GroupNorm(min(8, ch // 4) if ch >= 8 else 1, ch)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim, dropout):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2 = group_norm(cout)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: steadier early training
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class Attention(nn.Module):
    def __init__(self, ch, heads):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        b, c, h, w = x.shape
        d = c // self.heads
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, d, h * w).unbind(1)
        weights = torch.softmax(torch.einsum('bhdi,bhdj->bhij', q, k) * (d ** -0.5), dim=-1)
        out = torch.einsum('bhij,bhdj->bhdi', weights, v).reshape(b, c, h, w)
        return x + self.proj(out)


class UNet(nn.Module):
    def __init__(self, ch=32, mult=(1, 2, 2), num_res=2, attn_levels=(2,), heads=4, num_classes=10, dropout=0.1):
        super().__init__()
        self.num_classes = num_classes
        self.ch = ch
        emb_dim = 4 * ch
        self.time_mlp = nn.Sequential(nn.Linear(ch, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim)  # last row: null class
        self.conv_in = nn.Conv2d(1, ch, 3, padding=1)

        self.down = nn.ModuleList()
        skips = [ch]
        cur = ch
        for level, m in enumerate(mult):
            for _ in range(num_res):
                block = nn.ModuleList([ResBlock(cur, ch * m, emb_dim, dropout)])
                cur = ch * m
                if level in attn_levels:
                    block.append(Attention(cur, heads))
                self.down.append(block)
                skips.append(cur)
            if level != len(mult) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(cur, cur, 3, stride=2, padding=1)]))
                skips.append(cur)

        self.mid = nn.ModuleList([ResBlock(cur, cur, emb_dim, dropout), Attention(cur, heads),
                                  ResBlock(cur, cur, emb_dim, dropout)])

        self.up = nn.ModuleList()
        for level, m in reversed(list(enumerate(mult))):
            for i in range(num_res + 1):
                block = nn.ModuleList([ResBlock(cur + skips.pop(), ch * m, emb_dim, dropout)])
                cur = ch * m
                if level in attn_levels:
                    block.append(Attention(cur, heads))
                if level != 0 and i == num_res:
                    block.append(nn.Upsample(scale_factor=2, mode='nearest'))
                    block.append(nn.Conv2d(cur, cur, 3, padding=1))
                self.up.append(block)
        self.norm_out = group_norm(cur)
        self.conv_out = nn.Conv2d(cur, 1, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @staticmethod
    def _run(block, h, emb):
        for layer in block:
            h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
        return h

    def forward(self, sample, timestep, class_labels):
        emb = self.time_mlp(timestep_embedding(timestep, self.ch)) + self.class_emb(class_labels)
        h = self.conv_in(sample)
        hs = [h]
        for block in self.down:
            h = self._run(block, h, emb)
            hs.append(h)
        h = self._run(self.mid, h, emb)
        for block in self.up:
            h = self._run(block, torch.cat([h, hs.pop()], dim=1), emb)
        return self.conv_out(F.silu(self.norm_out(h)))


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
