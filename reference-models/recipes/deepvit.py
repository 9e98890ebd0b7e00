"""DeepViT (Zhou et al., "DeepViT: Towards Deeper Vision Transformer", 2021) on Fashion-MNIST.

A ViT whose attention is Re-Attention: the softmaxed attention maps of the H heads
are mixed by a learnable H x H matrix Theta and normalised (LayerNorm over the head
axis) before multiplying V:  Re-Attn(Q,K,V) = Norm(Theta^T softmax(QK^T/sqrt(d))) V.

Usage: python3 reference-models/recipes/deepvit.py [--epochs N] [--out DIR]
"""
import common  # noqa: F401  (sets thread environment first)

import torch
import torch.nn as nn

from vit import Attention, ViT

CFG = dict(patch=7, dim=64, depth=6, heads=4, mlp_ratio=4)


class ReAttention(Attention):
    def __init__(self, dim, heads):
        super().__init__(dim, heads)
        # Theta initialised near identity so training starts like plain MHSA
        self.theta = nn.Parameter(torch.eye(heads) + 0.01 * torch.randn(heads, heads))
        self.head_norm = nn.LayerNorm(heads)

    def attend(self, q, k, v):
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)     # [B, H, N, N]
        mixed = attn.permute(0, 2, 3, 1) @ self.theta                       # [B, N, N, H]: sum_h attn_h Theta[h, g]
        attn = self.head_norm(mixed).permute(0, 3, 1, 2)                    # Norm over heads, back to [B, H, N, N]
        return attn @ v


def build():
    return ViT(**CFG, attn_factory=ReAttention)


def init_from_vit(model, args):
    """Warm start: every weight shared with the trained vit (same CFG) is copied; Theta and the
    head norm are new. Re-attention changes the attention maps, so all weights are trained."""
    missing, unexpected = model.load_state_dict(common.load_vit_weights(args), strict=False)
    assert not unexpected, unexpected
    assert all(".attn.theta" in k or ".attn.head_norm." in k for k in missing), missing
    return "warm start from the trained vit reference model (new per block: Theta, head LayerNorm)"


if __name__ == "__main__":
    common.run_classifier(
        "deepvit", {"title": "DeepViT: Towards Deeper Vision Transformer", "year": 2021},
        build, CFG, __doc__, dict(epochs=5, batch=128, lr=1e-3, warmup_epochs=0.3, budget_minutes=6, augment="flip"),
        "ViT with Re-Attention: learnable HxH head-mixing matrix applied to the softmaxed attention maps, "
        "followed by LayerNorm over the head axis", init_fn=init_from_vit)
