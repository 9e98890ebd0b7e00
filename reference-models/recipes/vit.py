"""ViT (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021) on Fashion-MNIST.

Patch embedding, class token, learned positions, pre-LN blocks, multi-head
self-attention (Linear qkv -> heads -> softmax(QK^T/sqrt(d))V -> merge) and a GELU
MLP with ratio 4. Trained with DeiT-style hard distillation from a small CNN.

Usage: python3 reference-models/recipes/vit.py [--epochs N] [--out DIR]
"""
import common  # noqa: F401  (sets thread environment first)

import torch
import torch.nn as nn

CFG = dict(patch=7, dim=64, depth=6, heads=4, mlp_ratio=4)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def split_heads(self, x):
        """[B, N, D] -> q, k, v each [B, H, N, Dh]."""
        b, n = x.shape[0], x.shape[1]
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def attend(self, q, k, v):
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        return attn @ v

    def merge(self, o):
        b, n = o.shape[0], o.shape[2]
        return self.proj(o.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))

    def forward(self, x):
        q, k, v = self.split_heads(x)
        return self.merge(self.attend(q, k, v))


class Mlp(nn.Module):
    def __init__(self, dim, ratio):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim * ratio)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(dim * ratio, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, attn=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = attn if attn is not None else Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, patch=4, dim=64, depth=6, heads=4, mlp_ratio=4, classes=10, img=28, attn_factory=None):
        super().__init__()
        self.num_patches = (img // patch) ** 2
        self.dim = dim
        self.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.num_patches + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([
            Block(dim, heads, mlp_ratio, attn_factory(dim, heads) if attn_factory else None)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        self.apply(init_weights)

    def embed(self, x):
        x = self.patch_embed(x).reshape(-1, self.dim, self.num_patches).transpose(1, 2)   # [B, N, D]
        cls = x[:, :1] * 0.0 + self.cls_token                       # [B, 1, D] (broadcast keeps shapes static)
        return torch.cat([cls, x], dim=1) + self.pos_embed

    def forward(self, x):
        x = self.embed(x)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def build():
    return ViT(**CFG)


if __name__ == "__main__":
    common.run_classifier("vit", {"title": "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale", "year": 2021},
        build, CFG, __doc__, dict(epochs=12, batch=128, lr=1.5e-3, warmup_epochs=0.5, budget_minutes=15),
        "patch embedding (7x7 conv, stride 7: 16 patches), class token, learned positions, pre-LN, MHSA, GELU MLP ratio 4")
