"""EfficientViT (Liu et al., "EfficientViT: Memory Efficient Vision Transformer with
Cascaded Group Attention", CVPR 2023) scaled down for 28x28 Fashion-MNIST.

Overlapping conv patch embedding; sandwich blocks (DW conv + FFN, cascaded group
attention, DW conv + FFN); cascaded group attention: every head sees its own
channel split, the previous head's output is added to the next head's input,
a depthwise conv on Q for token interaction, Q/K dim < V dim; FFN ratio 2;
BatchNorm everywhere (no LayerNorm), ReLU; inverted-residual subsampling.

Usage: python3 reference-models/recipes/efficientvit.py [--epochs N] [--out DIR]
"""
import common  # noqa: F401  (sets thread environment first)

import torch
import torch.nn as nn

# stages: (channels, depth, heads, key_dim); each head's V dim = channels // heads
CFG = dict(stem=(16, 32), stages=((32, 1, 2, 8), (64, 2, 4, 8)), ffn_ratio=2, q_kernel=3)


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k=1, stride=1, groups=1, bn_weight_init=1.0):
        super().__init__(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))
        nn.init.constant_(self[1].weight, bn_weight_init)
        nn.init.zeros_(self[1].bias)


class Residual(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return x + self.m(x)


class FFN(nn.Sequential):
    def __init__(self, c, ratio):
        super().__init__(ConvBN(c, c * ratio), nn.ReLU(), ConvBN(c * ratio, c, bn_weight_init=0.0))


class CascadedGroupAttention(nn.Module):
    def __init__(self, c, heads, key_dim, q_kernel):
        super().__init__()
        self.heads = heads
        self.key_dim = key_dim
        self.v_dim = c // heads
        assert key_dim < self.v_dim
        self.scale = key_dim ** -0.5
        self.qkv = nn.ModuleList([ConvBN(self.v_dim, 2 * key_dim + self.v_dim) for _ in range(heads)])
        self.dw_q = nn.ModuleList([ConvBN(key_dim, key_dim, q_kernel, groups=key_dim) for _ in range(heads)])
        self.proj = nn.Sequential(nn.ReLU(), ConvBN(self.v_dim * heads, c, bn_weight_init=0.0))

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        splits = x.chunk(self.heads, dim=1)
        outs = []
        feat = splits[0]
        for i in range(self.heads):
            if i > 0:
                feat = feat + splits[i]                       # cascade: previous head's output + own split
            qkv = self.qkv[i](feat)
            q, k, v = qkv.split([self.key_dim, self.key_dim, self.v_dim], dim=1)
            q = self.dw_q[i](q)                               # token interaction on Q
            q = q.flatten(2)
            k = k.flatten(2)
            v = v.flatten(2)                                  # [B, C', N]
            attn = (q.transpose(1, 2) @ k) * self.scale       # [B, N, N]
            attn = attn.softmax(dim=-1)
            feat = (v @ attn.transpose(1, 2)).reshape(-1, self.v_dim, h, w)
            outs.append(feat)
        return self.proj(torch.cat(outs, dim=1))


def dw_ffn(c, ratio):
    return [Residual(ConvBN(c, c, 3, groups=c, bn_weight_init=0.0)), Residual(FFN(c, ratio))]


class EfficientViTBlock(nn.Sequential):
    """Sandwich layout: (DW + FFN) -> cascaded group attention -> (DW + FFN)."""

    def __init__(self, c, heads, key_dim, ratio, q_kernel):
        super().__init__(*dw_ffn(c, ratio), Residual(CascadedGroupAttention(c, heads, key_dim, q_kernel)),
                         *dw_ffn(c, ratio))


class InvertedResidualSubsample(nn.Sequential):
    """Efficient subsample: DW+FFN, inverted residual (1x1 expand, 3x3 DW stride 2, 1x1 project), DW+FFN."""

    def __init__(self, cin, cout, ratio):
        hidden = cin * 4
        super().__init__(*dw_ffn(cin, ratio),
                         ConvBN(cin, hidden), nn.ReLU(),
                         ConvBN(hidden, hidden, 3, stride=2, groups=hidden), nn.ReLU(),
                         ConvBN(hidden, cout),
                         *dw_ffn(cout, ratio))


class EfficientViT(nn.Module):
    def __init__(self, stem=(16, 32), stages=((32, 1, 2, 8), (64, 2, 4, 8)), ffn_ratio=2, q_kernel=3, classes=10):
        super().__init__()
        self.patch_embed = nn.Sequential(ConvBN(1, stem[0], 3, stride=2), nn.ReLU(), ConvBN(stem[0], stem[1], 3))
        layers = []
        prev = stem[1]
        for si, (c, depth, heads, key_dim) in enumerate(stages):
            if si > 0:
                layers.append(InvertedResidualSubsample(prev, c, ffn_ratio))
            layers += [EfficientViTBlock(c, heads, key_dim, ffn_ratio, q_kernel) for _ in range(depth)]
            prev = c
        self.stages = nn.Sequential(*layers)
        self.head_bn = nn.BatchNorm1d(prev)
        self.head = nn.Linear(prev, classes)

    def forward(self, x):
        x = self.stages(self.patch_embed(x))
        x = x.mean(dim=(2, 3))
        return self.head(self.head_bn(x))


def build():
    return EfficientViT(**CFG)


if __name__ == "__main__":
    common.run_classifier(
        "efficientvit",
        {"title": "EfficientViT: Memory Efficient Vision Transformer with Cascaded Group Attention", "year": 2023},
        build, CFG, __doc__, dict(epochs=10, batch=128, lr=2e-3, weight_decay=0.025, warmup_epochs=0.5, budget_minutes=8,
                                      channels_last=True, augment="flip"),
        "sandwich blocks (DW+FFN, cascaded group attention, DW+FFN), per-head channel splits with cascade add, "
        "depthwise conv on Q, key dim < value dim, FFN ratio 2, BatchNorm only, ReLU, inverted-residual subsampling")
