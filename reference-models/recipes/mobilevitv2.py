"""MobileViTv2 (Mehta & Rastegari, "Separable Self-attention for Mobile Vision
Transformers", TMLR 2023 / arXiv 2022) scaled down for 28x28 Fashion-MNIST.

MV2 blocks plus MobileViTv2 blocks: depthwise local conv, 1x1 conv, unfold into
patches, separable self-attention layers (input -> d->1 context scores, softmax
over the tokens, context vector = score-weighted sum of keys, ReLU(values) * context
vector, output projection) with FFNs, fold, 1x1 projection -- and, unlike MobileViT
v1, no skip/concat/fusion conv in the block.

Usage: python3 reference-models/recipes/mobilevitv2.py [--epochs N] [--out DIR]
"""
import common  # noqa: F401  (sets thread environment first)

import torch
import torch.nn as nn

from mobilevit import MV2, conv_bn_act

CFG = dict(stem=16,
           layers=[("mv2", 16, 1), ("mv2", 32, 1),
                   ("mvit2", 32, dict(d=48, depth=2, patch=2)),   # 14x14, 2x2 patches
                   ("mv2", 64, 2),
                   ("mvit2", 64, dict(d=80, depth=2, patch=1))],  # 7x7, 1x1 patches
           expansion=2, last=128)


class SeparableSelfAttention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        self.qkv = nn.Linear(d, 1 + 2 * d)        # 1 context-score channel, keys, values
        self.out = nn.Linear(d, d)

    def forward(self, x):                          # x [B, P, N, d]
        qkv = self.qkv(x)
        q, k, v = qkv.split([1, self.d, self.d], dim=-1)
        scores = q.softmax(dim=2)                  # softmax over the N tokens, [B, P, N, 1]
        context = (k * scores).sum(dim=2, keepdim=True)   # context vector [B, P, 1, d]
        return self.out(torch.relu(v) * context)


class SepLayer(nn.Module):
    def __init__(self, d, ffn_ratio=2):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.attn = SeparableSelfAttention(d)
        self.norm2 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, d * ffn_ratio), nn.SiLU(), nn.Linear(d * ffn_ratio, d))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class MobileViTv2Block(nn.Module):
    def __init__(self, c, d, depth, patch, size):
        super().__init__()
        self.p, self.size, self.d = patch, size, d
        self.local = nn.Sequential(conv_bn_act(c, c, 3, groups=c), nn.Conv2d(c, d, 1, bias=False))
        self.layers = nn.Sequential(*[SepLayer(d) for _ in range(depth)])
        self.norm = nn.LayerNorm(d)
        self.project = conv_bn_act(d, c, act=False)

    def forward(self, x):
        y = self.local(x)
        p, s, d = self.p, self.size, self.d
        g = s // p
        y = y.reshape(-1, d, g, p, g, p).permute(0, 3, 5, 2, 4, 1).reshape(-1, p * p, g * g, d)   # unfold
        y = self.norm(self.layers(y))
        y = y.reshape(-1, p, p, g, g, d).permute(0, 5, 3, 1, 4, 2).reshape(-1, d, s, s)          # fold
        return self.project(y)                     # no skip / fusion


class MobileViTv2(nn.Module):
    def __init__(self, stem, layers, expansion, last, classes=10):
        super().__init__()
        self.stem = conv_bn_act(1, stem, 3, stride=2)   # 28 -> 14
        blocks, c, size = [], stem, 14
        for kind, cout, arg in layers:
            if kind == "mv2":
                blocks.append(MV2(c, cout, arg, expansion))
                size = (size + arg - 1) // arg
                c = cout
            else:
                blocks.append(MobileViTv2Block(c, size=size, **arg))
        self.blocks = nn.Sequential(*blocks)
        self.last = conv_bn_act(c, last)
        self.head = nn.Linear(last, classes)

    def forward(self, x):
        x = self.last(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


def build():
    return MobileViTv2(**CFG)


if __name__ == "__main__":
    common.run_classifier(
        "mobilevitv2",
        {"title": "Separable Self-attention for Mobile Vision Transformers", "year": 2022},
        build, CFG, __doc__, dict(epochs=10, batch=128, lr=2e-3, weight_decay=0.02, warmup_epochs=0.5, budget_minutes=7,
                                      channels_last=True, augment="flip"),
        "MV2 blocks + MobileViTv2 blocks with separable self-attention (d->1 context scores, softmax over tokens, "
        "context vector, ReLU value branch), no skip/fusion in the block")
