"""Small diffusion transformers: an image DiT whose MLPs are mixtures of experts, and a factorised
space-time DiT for short clips.

Both use adaLN-Zero blocks (DiT, Peebles & Xie) conditioned on timestep + class, patchified inputs and
hand-written attention (MatMul/Softmax only), so the legacy ONNX exporter of torch 1.13 and 2.x gives
plain graphs.

MoE routing is an input, `route` float32 [B]: +1 sends every token to its top-k experts (the strong
leg, how the network is trained), -1 to its bottom-k experts (the weak leg, DiT-MoE's "bad experts" in
W2SD §5.4). The gate weights are the softmax of the gate logits over the chosen experts in both cases.
Experts are computed densely and masked: at this size that is cheaper than gathering tokens, and it
keeps the graph static.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from unet import timestep_embedding


def sincos_1d(positions, dim):
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / half))
    args = positions.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def sincos_2d(side, dim):
    """Fixed 2-D position table [side², dim]: half the channels encode the row, half the column."""
    ys, xs = torch.meshgrid(torch.arange(side), torch.arange(side), indexing='ij')
    return torch.cat([sincos_1d(ys.flatten(), dim // 2), sincos_1d(xs.flatten(), dim // 2)], dim=1)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        h = self.heads
        q, k, v = self.qkv(x).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4).unbind(0)
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (d // h) ** -0.5, dim=-1)
        return self.proj(torch.matmul(w, v).transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x, route=None):
        return self.fc2(F.gelu(self.fc1(x))), None


class MoeMlp(nn.Module):
    """E expert MLPs behind a linear gate; each token uses k of them, picked by `route` (see module doc)."""

    def __init__(self, dim, hidden, experts, k):
        super().__init__()
        self.k, self.experts = k, experts
        self.gate = nn.Linear(dim, experts, bias=False)
        self.w1 = nn.Parameter(torch.randn(experts, dim, hidden) * dim ** -0.5)
        self.b1 = nn.Parameter(torch.zeros(experts, 1, hidden))
        self.w2 = nn.Parameter(torch.randn(experts, hidden, dim) * hidden ** -0.5)
        self.b2 = nn.Parameter(torch.zeros(experts, 1, dim))

    def forward(self, x, route):
        b, n, d = x.shape
        logits = self.gate(x)                                    # [B, N, E]
        scores = logits * route[:, None, None]
        kth = torch.topk(scores, self.k, dim=-1).values[..., -1:]
        chosen = scores >= kth
        weights = torch.softmax(logits.masked_fill(~chosen, -1e4), dim=-1)
        flat = x.reshape(1, b * n, d)
        h = F.gelu(torch.matmul(flat, self.w1) + self.b1)        # [E, BN, H]
        out = torch.matmul(h, self.w2) + self.b2                 # [E, BN, D]
        y = (out.permute(1, 0, 2) * weights.reshape(b * n, self.experts, 1)).sum(1).reshape(b, n, d)
        # Switch-style balance loss: every expert must see tokens, else bottom-k would be untrained noise
        probs = torch.softmax(logits, dim=-1).reshape(-1, self.experts)
        load = chosen.float().reshape(-1, self.experts).mean(0) / self.k
        return y, self.experts * (load * probs.mean(0)).sum()


class Block(nn.Module):
    """adaLN-Zero: every residual branch starts closed (gate 0), so the untrained network is the identity."""

    def __init__(self, dim, heads, mlp, temporal=False):
        super().__init__()
        self.temporal = temporal
        branches = 3 if temporal else 2
        self.norms = nn.ModuleList([nn.LayerNorm(dim, eps=1e-6) for _ in range(branches)])
        self.attn = Attention(dim, heads)
        self.tattn = Attention(dim, heads) if temporal else None
        self.mlp = mlp
        self.ada = nn.Linear(dim, 3 * branches * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x, c, route=None, frames=1):
        mods = self.ada(F.silu(c))[:, None].chunk(3 * len(self.norms), dim=-1)
        def mod(i, h):
            return self.norms[i](h) * (1 + mods[3 * i + 1]) + mods[3 * i]
        # spatial attention within each frame: x is [B, F*N, D]
        b, fn, d = x.shape
        n = fn // frames
        h = mod(0, x).reshape(b * frames, n, d)
        x = x + mods[2] * self.attn(h).reshape(b, fn, d)
        aux = None
        if self.temporal:
            h = mod(1, x).reshape(b, frames, n, d).transpose(1, 2).reshape(b * n, frames, d)
            h = self.tattn(h).reshape(b, n, frames, d).transpose(1, 2).reshape(b, fn, d)
            x = x + mods[5] * h
        last = len(self.norms) - 1
        y, aux = self.mlp(mod(last, x), route)
        return x + mods[3 * last + 2] * y, aux


class Dit(nn.Module):
    """Patchified transformer over `frames` frames of side×side pixels (frames = 1: an image model).

    forward(sample, timestep, class_labels[, route]): sample [B,1,H,W] for images, [B,1,F,H,W] for clips;
    returns ε of the same shape. Class `num_classes` is the null class (classifier-free guidance).
    """

    def __init__(self, side=28, patch=4, dim=64, depth=4, heads=4, mlp_ratio=2, num_classes=10, frames=1,
                 experts=0, top_k=2, refine=32):
        super().__init__()
        self.side, self.patch, self.dim, self.frames = side, patch, dim, frames
        self.num_classes, self.moe = num_classes, experts > 0
        self.grid = side // patch
        self.embed = nn.Linear(patch * patch, dim)
        self.register_buffer('pos', sincos_2d(self.grid, dim)[None], persistent=False)
        if frames > 1:
            self.register_buffer('tpos', sincos_1d(torch.arange(frames), dim)[None, :, None], persistent=False)
        self.time_mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.class_emb = nn.Embedding(num_classes + 1, dim)

        def mlp():
            return MoeMlp(dim, dim * mlp_ratio, experts, top_k) if experts else Mlp(dim, dim * mlp_ratio)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp(), temporal=frames > 1) for _ in range(depth)])
        self.norm_out = nn.LayerNorm(dim, eps=1e-6)
        self.ada_out = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, patch * patch)
        # U-ViT-style 3x3 refinement of the unpatchified output, seeing the noisy input too: patches of 7x7
        # (or 4x4) pixels predicted from one token each come out blocky, and the convolution smooths the seams
        self.refine_in = nn.Conv2d(2, refine, 3, padding=1)
        self.refine_out = nn.Conv2d(refine, 1, 3, padding=1)
        for layer in (self.ada_out, self.out, self.refine_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.aux_loss = None

    def patchify(self, x):
        # x [B*F, 1, S, S] -> [B*F, G*G, p*p]
        n, g, p = x.shape[0], self.grid, self.patch
        return x.reshape(n, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(n, g * g, p * p)

    def unpatchify(self, t):
        n, g, p = t.shape[0], self.grid, self.patch
        return t.reshape(n, g, g, p, p).permute(0, 1, 3, 2, 4).reshape(n, 1, g * p, g * p)

    def forward(self, sample, timestep, class_labels, route=None):
        b, f = sample.shape[0], self.frames
        frames = sample.transpose(1, 2).reshape(b * f, 1, self.side, self.side) if f > 1 else sample
        tokens = self.embed(self.patchify(frames)) + self.pos                   # [B*F, N, D]
        n = tokens.shape[1]
        if f > 1:
            tokens = tokens.reshape(b, f, n, self.dim) + self.tpos
        x = tokens.reshape(b, f * n, self.dim)
        c = self.time_mlp(timestep_embedding(timestep, self.dim)) + self.class_emb(class_labels)
        if self.moe and route is None:
            route = torch.ones(b, device=sample.device)
        aux = []
        for block in self.blocks:
            x, a = block(x, c, route, f)
            if a is not None:
                aux.append(a)
        self.aux_loss = torch.stack(aux).mean() if aux else None
        shift, scale = self.ada_out(F.silu(c))[:, None].chunk(2, dim=-1)
        x = self.out(self.norm_out(x) * (1 + scale) + shift)                    # [B, F*N, p*p]
        out = self.unpatchify(x.reshape(b * f, n, -1))
        out = out + self.refine_out(F.silu(self.refine_in(torch.cat([out, frames], dim=1))))
        if f > 1:
            out = out.reshape(b, f, 1, self.side, self.side).transpose(1, 2)
        return out


class RoutedDit(nn.Module):
    """Export wrapper: ONNX needs `route` as a real input, not an optional argument."""

    def __init__(self, dit):
        super().__init__()
        self.dit = dit
        self.num_classes = dit.num_classes

    def forward(self, sample, timestep, class_labels, route):
        return self.dit(sample, timestep, class_labels, route)
