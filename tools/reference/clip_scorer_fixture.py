#!/usr/bin/env python3
"""Builds the scorer test fixtures and records their reference scores with PyTorch + PIL.

Run once (Debian: python3-torch, python3-onnx, python3-pil, python3-numpy), from the repository root:

    /usr/bin/python3 tools/reference/clip_scorer_fixture.py

It writes test/fixtures/scorers/:
  tiny-clip/model.onnx          a small CLIP-like model with exactly optimum's CLIP IO names
                                (input_ids, pixel_values, attention_mask -> logits_per_image, logits_per_text,
                                text_embeds, image_embeds), dynamic batch and sequence axes
  tiny-clip/aesthetic.onnx      an MLP head like LAION's improved aesthetic predictor (linear layers, no
                                activations) on the L2-normalised image embedding
  tiny-clip/*.json              preprocessor_config.json (object-style size/crop_size), config.json (with the
                                wrong bos/eos ids real exports carry), tokenizer_config.json, special_tokens_map.json;
                                the tests add the real CLIP vocab.json/merges.txt from test/fixtures/hf/clip-tokenizer
  images/                       PNG/JPEG files in the modes real files come in (RGB, RGBA, LA, P, L, 16-bit)
  tiny-dino/                    a DINO-like ViT (pixel_values -> last_hidden_state) with a ViTFeatureExtractor config
  references/                   two reference images of a "subject" for clip-i and dino
  references.json               token ids, preprocessed-pixel checksums and every scorer's value per image

The reference path is independent of the TypeScript code: PIL's convert("RGB") and Image.resize(BICUBIC), the
CLIPImageProcessor steps written out in numpy (transformers is not installed here), OpenAI CLIP's BPE written
out below, and the PyTorch module itself (not the ONNX file).
"""
import json
import os
import re
import struct
import zlib

import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'scorers')
TOK = os.path.join(ROOT, 'test', 'fixtures', 'hf', 'clip-tokenizer')

VOCAB, CONTEXT, WIDTH, EMBED = 49408, 77, 8, 6
CROP, SHORT = 32, 32
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
BOS, EOS = 49406, 49407


# ---------------------------------------------------------------- OpenAI CLIP BPE (ASCII prompts only)
def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


class Bpe:
    def __init__(self):
        self.encoder = json.load(open(os.path.join(TOK, 'vocab.json')))
        merges = open(os.path.join(TOK, 'merges.txt'), encoding='utf-8').read().split('\n')[1:]
        merges = [tuple(m.split()) for m in merges if m.strip()]
        self.ranks = dict(zip(merges, range(len(merges))))
        self.byte_encoder = bytes_to_unicode()
        # the ASCII subset of CLIP's pattern (\p{L} -> [a-z] after lower-casing, \p{N} -> [0-9])
        self.pat = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")

    def bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + '</w>',)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float('inf')))
            if best not in self.ranks:
                break
            first, second = best
            new, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
        return word

    def encode(self, text):
        assert all(ord(c) < 128 for c in text)
        text = re.sub(r'\s+', ' ', text).strip().lower()
        ids = []
        for tok in self.pat.findall(text):
            tok = ''.join(self.byte_encoder[b] for b in tok.encode('utf-8'))
            ids.extend(self.encoder[t] for t in self.bpe(tok))
        return ids


# ---------------------------------------------------------------- the tiny CLIP-like model
class Block(torch.nn.Module):
    def __init__(self, d, heads=2):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.fc1, self.fc2 = torch.nn.Linear(d, 2 * d), torch.nn.Linear(2 * d, d)
        self.heads = heads

    def forward(self, x, bias):
        B, S, D = x.shape
        h = self.ln1(x)
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        sh = lambda t: t.reshape(B, S, self.heads, D // self.heads).transpose(1, 2)
        q, k, v = sh(q), sh(k), sh(v)
        a = (q @ k.transpose(-1, -2)) / (D // self.heads) ** 0.5 + bias
        y = (a.softmax(-1) @ v).transpose(1, 2).reshape(B, S, D)
        x = x + self.out(y)
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))


class TinyClip(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.tok = torch.nn.Parameter(torch.randn(VOCAB, WIDTH, generator=g) * 0.5)
        self.tpos = torch.nn.Parameter(torch.randn(CONTEXT, WIDTH, generator=g) * 0.1)
        self.tblock = Block(WIDTH)
        self.tln = torch.nn.LayerNorm(WIDTH)
        self.tproj = torch.nn.Linear(WIDTH, EMBED, bias=False)
        self.patch = torch.nn.Conv2d(3, WIDTH, 8, stride=8, bias=False)
        self.cls = torch.nn.Parameter(torch.randn(WIDTH, generator=g) * 0.1)
        self.vpos = torch.nn.Parameter(torch.randn((CROP // 8) ** 2 + 1, WIDTH, generator=g) * 0.1)
        self.vpre = torch.nn.LayerNorm(WIDTH)
        self.vblock = Block(WIDTH)
        self.vpost = torch.nn.LayerNorm(WIDTH)
        self.vproj = torch.nn.Linear(WIDTH, EMBED, bias=False)
        self.logit_scale = torch.nn.Parameter(torch.tensor(2.6592))
        self.register_buffer('causal', torch.triu(torch.full((CONTEXT, CONTEXT), -1e9), diagonal=1))

    def text(self, input_ids, attention_mask):
        S = input_ids.shape[1]
        x = self.tok[input_ids] + self.tpos[:S]
        bias = self.causal[:S, :S][None, None] + (1.0 - attention_mask[:, None, None, :].float()) * -1e9
        x = self.tln(self.tblock(x, bias))
        # CLIP pools at the end token: the largest id (argmax), as transformers does for these configs
        pooled = x[torch.arange(x.shape[0]), input_ids.argmax(-1)]
        return self.tproj(pooled)

    def image(self, pixel_values):
        p = self.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(p.shape[0], 1, WIDTH), p], dim=1) + self.vpos
        x = self.vblock(self.vpre(x), torch.zeros(1, 1, 1, 1))
        # pooled over all tokens (CLS and patches) so that every pixel moves the embedding visibly
        return self.vproj(self.vpost(x.mean(dim=1)))

    def forward(self, input_ids, pixel_values, attention_mask):
        t = self.text(input_ids, attention_mask)
        i = self.image(pixel_values)
        t = t / t.norm(dim=-1, keepdim=True)
        i = i / i.norm(dim=-1, keepdim=True)
        logits_per_text = self.logit_scale.exp() * t @ i.t()
        return logits_per_text.t(), logits_per_text, t, i


class AestheticHead(torch.nn.Module):
    """LAION's improved aesthetic predictor is a stack of linear layers (dropout between, no activations)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(11)
        self.layers = torch.nn.Sequential(torch.nn.Linear(EMBED, 16), torch.nn.Linear(16, 8), torch.nn.Linear(8, 1))

    def forward(self, x):
        return self.layers(x) * 10 + 5


# ---------------------------------------------------------------- images in the modes real files use
def png16_rgb(path, arr16):
    """A 16-bit RGB PNG (PIL cannot write one)."""
    h, w, _ = arr16.shape
    raw = b''.join(b'\x00' + arr16[y].astype('>u2').tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)

    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
    open(path, 'wb').write(data)


def make_images(d):
    rng = np.random.default_rng(3)

    def smooth(h, w, c):
        # smooth random fields: natural images are smooth; pure noise would make every resampler disagree
        yy, xx = np.mgrid[0:h, 0:w]
        out = np.zeros((h, w, c))
        for ch in range(c):
            for _ in range(4):
                fx, fy, ph = rng.uniform(0.02, 0.25), rng.uniform(0.02, 0.25), rng.uniform(0, 6.3)
                out[..., ch] += np.sin(fx * xx + fy * yy + ph) * rng.uniform(20, 60)
        return np.clip(out + 128 + rng.normal(0, 6, out.shape), 0, 255).astype(np.uint8)

    files = {}
    Image.fromarray(smooth(32, 32, 3)).save(f'{d}/crop-rgb.png'); files['crop-rgb.png'] = 'exact'
    Image.fromarray(smooth(45, 32, 3)).save(f'{d}/tall-rgb.png'); files['tall-rgb.png'] = 'exact'  # short edge = size: crop only
    Image.fromarray(smooth(32, 32, 4), 'RGBA').save(f'{d}/crop-rgba.png'); files['crop-rgba.png'] = 'exact'
    Image.fromarray(smooth(32, 40, 2), 'LA').save(f'{d}/wide-la.png'); files['wide-la.png'] = 'exact'
    Image.fromarray(smooth(32, 32, 1)[..., 0], 'L').save(f'{d}/crop-gray.png'); files['crop-gray.png'] = 'exact'
    Image.fromarray(smooth(32, 32, 3)).convert('P', palette=Image.ADAPTIVE, colors=37).save(f'{d}/crop-palette.png'); files['crop-palette.png'] = 'exact'
    a = Image.fromarray(smooth(32, 32, 3)).convert('P', palette=Image.ADAPTIVE, colors=16)
    a.info['transparency'] = 3
    a.save(f'{d}/crop-palette-trns.png', transparency=3); files['crop-palette-trns.png'] = 'exact'
    png16_rgb(f'{d}/crop-rgb16.png', smooth(32, 32, 3).astype(np.uint16) * 257 + rng.integers(0, 200, (32, 32, 3)).astype(np.uint16)); files['crop-rgb16.png'] = 'exact'
    Image.fromarray(smooth(70, 50, 3)).save(f'{d}/down-rgb.png'); files['down-rgb.png'] = 'resized'
    Image.fromarray(smooth(160, 120, 4), 'RGBA').save(f'{d}/down-rgba.png'); files['down-rgba.png'] = 'resized'
    Image.fromarray(smooth(23, 17, 3)).save(f'{d}/up-rgb.png'); files['up-rgb.png'] = 'resized'
    Image.fromarray(smooth(48, 64, 3)).save(f'{d}/photo.jpg', quality=92, subsampling=0); files['photo.jpg'] = 'jpeg'
    return files


# ---------------------------------------------------------------- CLIPImageProcessor, written out
def preprocess(img):
    img = img.convert('RGB')
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(SHORT * long / short)
    size = (SHORT, new_long) if w <= h else (new_long, SHORT)  # (width, height)
    if size != img.size:
        img = img.resize(size, resample=Image.BICUBIC)
    a = np.array(img)
    top, left = (a.shape[0] - CROP) // 2, (a.shape[1] - CROP) // 2
    a = a[top:top + CROP, left:left + CROP]
    a = (a.astype(np.float64) * (1 / 255)).astype(np.float32)
    a = (a - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return a.transpose(2, 0, 1)


def main():
    os.makedirs(f'{OUT}/tiny-clip', exist_ok=True)
    os.makedirs(f'{OUT}/images', exist_ok=True)
    torch.manual_seed(5)
    model = TinyClip().eval()
    with torch.no_grad():
        model.patch.weight.normal_(0, 0.3)
        model.vproj.weight.normal_(0, 1.0)
        model.tproj.weight.normal_(0, 1.0)
    head = AestheticHead().eval()
    bpe = Bpe()
    ids = torch.tensor([[BOS, 320, 2368, EOS] + [EOS] * 3])
    torch.onnx.export(model, (ids, torch.zeros(1, 3, CROP, CROP), torch.ones_like(ids)), f'{OUT}/tiny-clip/model.onnx',
                      input_names=['input_ids', 'pixel_values', 'attention_mask'],
                      output_names=['logits_per_image', 'logits_per_text', 'text_embeds', 'image_embeds'],
                      dynamic_axes={'input_ids': {0: 'text_batch_size', 1: 'sequence_length'}, 'pixel_values': {0: 'image_batch_size'},
                                    'attention_mask': {0: 'text_batch_size', 1: 'sequence_length'},
                                    'logits_per_image': {0: 'image_batch_size', 1: 'text_batch_size'},
                                    'logits_per_text': {0: 'text_batch_size', 1: 'image_batch_size'},
                                    'text_embeds': {0: 'text_batch_size'}, 'image_embeds': {0: 'image_batch_size'}},
                      opset_version=14)
    torch.onnx.export(head, (torch.zeros(1, EMBED),), f'{OUT}/tiny-clip/aesthetic.onnx', input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}, opset_version=14)
    json.dump({'crop_size': {'height': CROP, 'width': CROP}, 'do_center_crop': True, 'do_convert_rgb': True, 'do_normalize': True,
               'do_rescale': True, 'do_resize': True, 'image_mean': MEAN, 'image_processor_type': 'CLIPImageProcessor',
               'image_std': STD, 'resample': 3, 'rescale_factor': 1 / 255, 'size': {'shortest_edge': SHORT}},
              open(f'{OUT}/tiny-clip/preprocessor_config.json', 'w'), indent=2)
    # real exports (e.g. openai/clip-vit-large-patch14) carry bos_token_id 0 / eos_token_id 2 in text_config
    json.dump({'architectures': ['CLIPModel'], 'model_type': 'clip', 'projection_dim': EMBED, 'logit_scale_init_value': 2.6592,
               'text_config': {'bos_token_id': 0, 'eos_token_id': 2, 'hidden_size': WIDTH, 'max_position_embeddings': CONTEXT, 'vocab_size': VOCAB},
               'vision_config': {'hidden_size': WIDTH, 'image_size': CROP, 'patch_size': 8}},
              open(f'{OUT}/tiny-clip/config.json', 'w'), indent=2)
    json.dump({'bos_token': '<|startoftext|>', 'eos_token': '<|endoftext|>', 'pad_token': '<|endoftext|>', 'unk_token': '<|endoftext|>',
               'model_max_length': CONTEXT, 'do_lower_case': True, 'tokenizer_class': 'CLIPTokenizer'},
              open(f'{OUT}/tiny-clip/tokenizer_config.json', 'w'), indent=2)
    json.dump({'bos_token': '<|startoftext|>', 'eos_token': '<|endoftext|>', 'pad_token': '<|endoftext|>', 'unk_token': '<|endoftext|>'},
              open(f'{OUT}/tiny-clip/special_tokens_map.json', 'w'), indent=2)

    files = make_images(f'{OUT}/images')
    prompts = {
        'crop-rgb.png': 'a photo of a cat',
        'tall-rgb.png': 'An astronaut riding a horse',
        'crop-rgba.png': 'a red car, parked by the sea',
        'wide-la.png': 'black and white portrait',
        'crop-gray.png': 'a grey wall',
        'crop-palette.png': 'pixel art of a castle',
        'crop-palette-trns.png': 'a sticker with a transparent background',
        'crop-rgb16.png': 'a high dynamic range landscape',
        'down-rgb.png': 'a mountain at sunset',
        'down-rgba.png': 'a bowl of fruit on a table',
        'up-rgb.png': 'a tiny icon of a house',
        'photo.jpg': ' '.join(['a very long prompt about a garden with flowers and trees and birds'] * 8),
    }
    refs = {'note': 'recorded by tools/reference/clip_scorer_fixture.py with PyTorch + PIL ' + Image.__version__, 'images': {}}
    for name, kind in files.items():
        path = f'{OUT}/images/{name}'
        img = Image.open(path)
        pix = preprocess(img)
        toks = bpe.encode(prompts[name])[:CONTEXT - 2]
        ids = [BOS] + toks + [EOS]
        mask = [1] * len(ids) + [0] * (CONTEXT - len(ids))
        ids = ids + [EOS] * (CONTEXT - len(ids))
        with torch.no_grad():
            lpi, _, t, i = model(torch.tensor([ids]), torch.from_numpy(pix[None]), torch.tensor([mask]))
            aes = head(i)
        cos = float((t[0].double() * i[0].double()).sum())
        refs['images'][name] = {
            'kind': kind, 'mode': img.mode, 'size': list(img.size), 'prompt': prompts[name], 'input_ids': ids[:len(toks) + 2],
            'pixel_sum': float(pix.astype(np.float64).sum()), 'pixel_abs_sum': float(np.abs(pix.astype(np.float64)).sum()),
            'pixel_first': [float(v) for v in pix.reshape(-1)[:8]],
            'scores': {'clipscore': 100 * max(cos, 0), 'pickscore': float(lpi[0, 0]), 'hpsv2': 100 * cos, 'aesthetic': float(aes[0, 0])},
        }
    # libjpeg's decode of the JPEG, so the tests can split decoder differences from the rest of the pipeline
    np.array(Image.open(f'{OUT}/images/photo.jpg').convert('RGB')).tofile(f'{OUT}/photo.jpg.pil-rgb.raw')
    refs['personalization'] = personalization(model)
    json.dump(refs, open(f'{OUT}/references.json', 'w'), indent=1)
    print('wrote', OUT)


# ---------------------------------------------------------------- personalization: CLIP-I and DINO (paper Table 2)
class TinyDino(torch.nn.Module):
    """A DINO-like ViT: patch embedding, CLS token, one block; last_hidden_state like transformers' ViTModel."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(13)
        self.patch = torch.nn.Conv2d(3, WIDTH, 8, stride=8)
        self.cls = torch.nn.Parameter(torch.randn(WIDTH) * 0.1)
        self.pos = torch.nn.Parameter(torch.randn((DINO_SIZE // 8) ** 2 + 1, WIDTH) * 0.1)
        self.block = Block(WIDTH)
        self.ln = torch.nn.LayerNorm(WIDTH)
        with torch.no_grad():
            self.patch.weight.normal_(0, 0.3)

    def forward(self, pixel_values):
        p = self.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(p.shape[0], 1, WIDTH), p], dim=1) + self.pos
        return self.ln(self.block(x, torch.zeros(1, 1, 1, 1)))


DINO_SIZE = 32
DINO_MEAN, DINO_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def dino_preprocess(img):
    """ViTImageProcessor (facebook/dino-vits16's): resize to size x size (bilinear), rescale, normalise; no crop."""
    img = img.convert('RGB')
    if img.size != (DINO_SIZE, DINO_SIZE):
        img = img.resize((DINO_SIZE, DINO_SIZE), resample=Image.BILINEAR)
    a = (np.array(img).astype(np.float64) * (1 / 255)).astype(np.float32)
    a = (a - np.array(DINO_MEAN, dtype=np.float32)) / np.array(DINO_STD, dtype=np.float32)
    return a.transpose(2, 0, 1)


def personalization(clip):
    d = f'{OUT}/tiny-dino'
    os.makedirs(d, exist_ok=True)
    dino = TinyDino().eval()
    torch.onnx.export(dino, (torch.zeros(1, 3, DINO_SIZE, DINO_SIZE),), f'{d}/model.onnx', input_names=['pixel_values'], output_names=['last_hidden_state'],
                      dynamic_axes={'pixel_values': {0: 'batch_size'}, 'last_hidden_state': {0: 'batch_size'}}, opset_version=14)
    # the older ViTFeatureExtractor style of the real facebook/dino-vits16 config: plain-number size, no crop
    json.dump({'do_normalize': True, 'do_resize': True, 'feature_extractor_type': 'ViTFeatureExtractor', 'image_mean': DINO_MEAN,
               'image_std': DINO_STD, 'resample': 2, 'size': DINO_SIZE}, open(f'{d}/preprocessor_config.json', 'w'), indent=2)
    json.dump({'architectures': ['ViTModel'], 'model_type': 'vit', 'hidden_size': WIDTH, 'image_size': DINO_SIZE, 'patch_size': 8},
              open(f'{d}/config.json', 'w'), indent=2)
    refs_dir = f'{OUT}/references'
    os.makedirs(refs_dir, exist_ok=True)
    rng = np.random.default_rng(21)
    for k, (w, h) in enumerate([(40, 40), (64, 48)]):
        base = np.array(Image.open(f'{OUT}/images/down-rgb.png').convert('RGB').resize((w, h), resample=Image.BICUBIC)).astype(np.int16)
        Image.fromarray(np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)).save(f'{refs_dir}/ref-{k}.png')
    refs = [Image.open(f'{refs_dir}/ref-{k}.png') for k in range(2)]
    out = {}
    ids = torch.tensor([[BOS, EOS] + [EOS] * 5])
    mask = torch.tensor([[1, 1] + [0] * 5])
    with torch.no_grad():
        def clip_image(img):
            return clip(ids, torch.from_numpy(preprocess(img)[None]), mask)[3][0].double()

        def dino_cls(img):
            v = dino(torch.from_numpy(dino_preprocess(img)[None]))[0, 0].double()
            return v / v.norm()

        ref_clip = [clip_image(r) for r in refs]
        ref_dino = [dino_cls(r) for r in refs]
        for name in ['down-rgb.png', 'crop-rgb.png', 'up-rgb.png']:
            img = Image.open(f'{OUT}/images/{name}')
            ci, di = clip_image(img), dino_cls(img)
            out[name] = {'clip-i': float(sum((ci * r).sum() for r in ref_clip) / len(refs)),
                         'dino': float(sum((di * r).sum() for r in ref_dino) / len(refs))}
    return out


if __name__ == '__main__':
    main()
