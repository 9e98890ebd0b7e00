"""MobileViT (Mehta & Rastegari, "MobileViT: Light-weight, General-purpose, and
Mobile-friendly Vision Transformer", ICLR 2022) scaled down for 28x28 Fashion-MNIST.

MV2 blocks (1x1 expand Conv+BN+SiLU, 3x3 depthwise Conv+BN+SiLU, 1x1 project Conv+BN)
and MobileViT blocks (local 3x3 conv + 1x1 conv, unfold into ph x pw patches,
transformer over patches, fold, 1x1 conv, concat with the input, 3x3 fusion conv).

Usage: python3 reference-models/recipes/mobilevit.py [--epochs N] [--out DIR]
"""
import common  # noqa: F401  (sets thread environment first)

import torch
import torch.nn as nn

CFG = dict(stem=16,
           layers=[("mv2", 16, 1), ("mv2", 24, 1),
                   ("mvit", 24, dict(d=48, depth=2, heads=4, patch=2)),   # 14x14, 2x2 patches
                   ("mv2", 48, 2),
                   ("mvit", 48, dict(d=64, depth=2, heads=4, patch=1))],  # 7x7, 1x1 patches
           expansion=2, last=128)


def conv_bn_act(cin, cout, k=1, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class MV2(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(conv_bn_act(cin, hidden), conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
                                   conv_bn_act(hidden, cout, act=False))

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class TransformerLayer(nn.Module):
    def __init__(self, d, heads, mlp_ratio=2):
        super().__init__()
        self.heads = heads
        self.hd = d // heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, d * mlp_ratio), nn.SiLU(), nn.Linear(d * mlp_ratio, d))

    def forward(self, x):                                   # x [B*P, N, d]
        b, n = x.shape[0], x.shape[1]
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        attn = ((qkv[0] @ qkv[1].transpose(-2, -1)) * self.hd ** -0.5).softmax(-1)
        o = (attn @ qkv[2]).transpose(1, 2).reshape(b, n, self.heads * self.hd)
        x = x + self.proj(o)
        return x + self.mlp(self.norm2(x))


class MobileViTBlock(nn.Module):
    def __init__(self, c, d, depth, heads, patch, size):
        super().__init__()
        self.p = patch
        self.size = size                                     # H = W of the feature map (static)
        self.local = nn.Sequential(conv_bn_act(c, c, 3), nn.Conv2d(c, d, 1, bias=False))
        self.transformer = nn.Sequential(*[TransformerLayer(d, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(d)
        self.project = conv_bn_act(d, c)
        self.fusion = conv_bn_act(2 * c, c, 3)
        self.d = d

    def forward(self, x):
        y = self.local(x)                                    # [B, d, H, W]
        p, s, d = self.p, self.size, self.d
        g = s // p                                           # patches per side
        # unfold: [B, d, g, p, g, p] -> [B, p, p, g, g, d] -> [B*P, N, d]
        y = y.reshape(-1, d, g, p, g, p).permute(0, 3, 5, 2, 4, 1).reshape(-1, g * g, d)
        y = self.norm(self.transformer(y))
        # fold back
        y = y.reshape(-1, p, p, g, g, d).permute(0, 5, 3, 1, 4, 2).reshape(-1, d, s, s)
        y = self.project(y)
        return self.fusion(torch.cat([x, y], dim=1))


class MobileViT(nn.Module):
    def __init__(self, stem, layers, expansion, last, classes=10):
        super().__init__()
        self.stem = conv_bn_act(1, stem, 3, stride=2)        # 28 -> 14
        blocks, c, size = [], stem, 14
        for kind, cout, arg in layers:
            if kind == "mv2":
                blocks.append(MV2(c, cout, arg, expansion))
                size = (size + arg - 1) // arg
                c = cout
            else:
                blocks.append(MobileViTBlock(c, size=size, **arg))
        self.blocks = nn.Sequential(*blocks)
        self.last = conv_bn_act(c, last)
        self.head = nn.Linear(last, classes)

    def forward(self, x):
        x = self.last(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


def build():
    return MobileViT(**CFG)


if __name__ == "__main__":
    common.run_classifier(
        "mobilevit",
        {"title": "MobileViT: Light-weight, General-purpose, and Mobile-friendly Vision Transformer", "year": 2022},
        build, CFG, __doc__, dict(epochs=10, batch=128, lr=2e-3, weight_decay=0.02, warmup_epochs=0.5, budget_minutes=6,
                                      channels_last=True, augment="flip"),
        "MV2 inverted residual blocks (Conv+BN+SiLU, depthwise 3x3) and MobileViT blocks (local conv, unfold into "
        "patches, transformer, fold, 1x1 projection, concat + 3x3 fusion conv)")
