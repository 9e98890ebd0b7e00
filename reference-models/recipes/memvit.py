"""Learnable memory (Sandler et al., "Fine-tuning Image Transformers using Learnable
Memory", CVPR 2022) on top of the trained `vit` reference model.

Task A = the frozen base ViT (Fashion-MNIST, 10 classes). Task B = 5 super-categories
(0 tops: T-shirt/top, Pullover, Coat, Shirt; 1 trousers; 2 dresses; 3 footwear:
Sandal, Sneaker, Ankle boot; 4 bags). Task B adds m learnable memory tokens per
layer, a second class token and a second head. The paper's attention mask: the
original tokens (class token A + patches) attend only to original tokens; the new
class token attends to the original tokens, itself and the layer's memory tokens;
memory tokens are only keys/values (their outputs are dropped after each layer).
The mask is realised by computing the original rows exactly like the base model
(so task A is bit-identical) and the task-B row over the concatenated keys; the
recipe checks this against an explicit -inf masked full attention.

Needs the `vit` checkpoint in the work dir: run vit.py first.
Usage: python3 reference-models/recipes/memvit.py [--epochs N] [--out DIR]
"""
import common

import os
import time

import torch
import torch.nn as nn

import vit as vitlib

SUPER = [0, 1, 0, 2, 0, 3, 0, 3, 4, 3]      # Fashion-MNIST class -> super-category
SUPER_NAMES = ["tops", "trousers", "dresses", "footwear", "bags"]
MEMORY = 4


class MemViT(nn.Module):
    def __init__(self, base, memory=MEMORY, classes_b=5):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        dim = base.cls_token.shape[-1]
        depth = len(base.blocks)
        self.dim, self.mem = dim, memory
        self.memory = nn.Parameter(torch.randn(depth, memory, dim) * 0.02)
        self.cls_token_b = nn.Parameter(base.cls_token.detach().clone() + base.pos_embed.detach()[:, :1])
        self.head_b = nn.Linear(dim, classes_b)
        nn.init.trunc_normal_(self.head_b.weight, std=0.02)
        nn.init.zeros_(self.head_b.bias)

    def forward(self, img):
        base = self.base
        x = base.embed(img)                                      # original tokens [B, 1+N, D]
        b = x[:, :1] * 0.0 + self.cls_token_b                   # task-B class token [B, 1, D]
        for li, blk in enumerate(base.blocks):
            attn = blk.attn
            # ---- task-B row: query = class token B, keys/values = [original, class B, memory_l]
            hx = blk.norm1(x)
            hb = blk.norm1(b)
            hm = x[:, :1, :1] * 0.0 + blk.norm1(self.memory[li])     # memory [B, m, D]
            qb, kb, vb = attn.split_heads(torch.cat([hb, hm], dim=1))
            _, kx, vx = attn.split_heads(hx)
            ob = attn.attend(qb[:, :, :1], torch.cat([kx, kb], dim=2), torch.cat([vx, vb], dim=2))
            b = b + attn.merge(ob)
            b = b + blk.mlp(blk.norm2(b))
            # ---- original rows: exactly the base block (mask hides class B and memory)
            x = blk(x)
        logits_a = base.head(base.norm(x)[:, 0])
        logits_b = self.head_b(base.norm(b)[:, 0])
        return logits_a, logits_b

    @torch.no_grad()
    def forward_masked(self, img):
        """Reference: one full attention over [original, class B, memory] with the paper's -inf mask."""
        base = self.base
        x = base.embed(img)
        bsz, n = x.shape[0], x.shape[1]
        m = self.memory.shape[1]
        b = self.cls_token_b.expand(bsz, -1, -1)
        total = n + 1 + m
        allowed = torch.zeros(total, total, dtype=torch.bool)
        allowed[:n, :n] = True            # original -> original only
        allowed[n, :] = True              # class B -> everything
        allowed[n + 1:, n + 1:] = True    # memory rows (discarded) -> memory
        bias = torch.zeros(total, total).masked_fill(~allowed, float("-inf"))
        for li, blk in enumerate(base.blocks):
            seq = torch.cat([x, b, self.memory[li].unsqueeze(0).expand(bsz, -1, -1)], dim=1)
            a = blk.attn
            q, k, v = a.split_heads(blk.norm1(seq))
            att = ((q @ k.transpose(-2, -1)) * a.scale + bias).softmax(-1)
            seq = seq + a.merge(att @ v)
            seq = seq + blk.mlp(blk.norm2(seq))
            x, b = seq[:, :n], seq[:, n:n + 1]
        return base.head(base.norm(x)[:, 0]), self.head_b(base.norm(b)[:, 0])


def load_base(args):
    path = os.path.join(args.work, "vit.ckpt")
    if not os.path.exists(path):
        raise SystemExit(f"{path} missing: run vit.py first (same --work)")
    base = vitlib.build()
    base.load_state_dict(torch.load(path)["model"])
    base.eval()
    return base


def main():
    args = common.base_parser(__doc__, epochs=4, batch=128, lr=3e-3, weight_decay=0.0, warmup_epochs=0.3,
                              distill=False).parse_args()
    common.setup(args)
    xtr, ytr, xte, yte = common.load_fmnist(args.fashion_mnist)
    sup = torch.tensor(SUPER)
    base = load_base(args)
    model = MemViT(base)
    model.base.eval()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    class TaskB(nn.Module):          # train only task B; keep base in eval mode (no dropout/BN anyway)
        def forward(self, x):
            return model(x)[1]
    state = common.train_classifier(model, "memvit", args, (xtr, sup[ytr], xte, sup[yte]),
                                    forward=TaskB())
    model.eval()
    acc_b = common.evaluate(model, xte, sup[yte], forward=lambda x: model(x)[1])
    acc_a = common.evaluate(model, xte, yte, forward=lambda x: model(x)[0])
    base_acc = common.evaluate(base, xte, yte)
    identical, max_mask_diff = True, 0.0
    with torch.no_grad():
        for i in range(0, len(xte), 500):
            la, lb = model(xte[i:i + 500])
            identical &= torch.equal(la, base(xte[i:i + 500]))
            ma, mb = model.forward_masked(xte[i:i + 500])
            max_mask_diff = max(max_mask_diff, (ma - la).abs().max().item(), (mb - lb).abs().max().item())
    print(f"memvit: task A {acc_a:.4f} (base {base_acc:.4f}, bit-identical {identical}), task B {acc_b:.4f}, "
          f"masked-reference max diff {max_mask_diff:.2e}", flush=True)
    onnx_info = common.export_onnx(model, torch.zeros(1, 1, 28, 28), os.path.join(args.out, "memvit.onnx"),
                                   ["input"], ["logits_a", "logits_b"],
                                   {"input": {0: "batch"}, "logits_a": {0: "batch"}, "logits_b": {0: "batch"}})
    common.write_log(args, "memvit", {
        "name": "memvit",
        "paper": {"title": "Fine-tuning Image Transformers using Learnable Memory", "year": 2022},
        "task": "A: Fashion-MNIST 10 classes (frozen base = vit); B: 5 super-categories " + str(
            {n: [common.CLASSES[c] for c in range(10) if SUPER[c] == k] for k, n in enumerate(SUPER_NAMES)}),
        "mechanism": f"{MEMORY} learnable memory tokens per layer, second class token + head for task B, "
                     "attention mask: original tokens do not attend to class token B or memory",
        "architecture": {"base": vitlib.CFG, "memory_tokens_per_layer": MEMORY, "base_model": "vit"},
        "inputs": [common.image_input_spec()],
        "outputs": [{"name": "logits_a", "shape": ["batch", 10], "dtype": "float32",
                     "meaning": "task A class logits, identical to vit.onnx 'logits'"},
                    {"name": "logits_b", "shape": ["batch", 5], "dtype": "float32",
                     "meaning": "task B logits over " + ", ".join(SUPER_NAMES)}],
        "label_map_task_b": SUPER,
        "params": common.count_params(model), "params_trainable_task_b": trainable,
        "training": common.recipe_dict(args, trained="memory tokens, class token B, head B (base frozen)"),
        "seed": args.seed, "train_minutes": round(state["seconds"] / 60, 2),
        "metric": {"name": "top1", "split": "Fashion-MNIST test (10,000)",
                   "pytorch": {"task_a": round(acc_a, 4), "task_b": round(acc_b, 4), "base_vit": round(base_acc, 4)}},
        "task_a_bit_identical_to_base": bool(identical),
        "masked_full_attention_reference_max_abs_diff": max_mask_diff,
        "history": state["history"], "onnx": onnx_info})


if __name__ == "__main__":
    main()
