"""NaViT (Dehghani et al., "Patch n' Pack: NaViT, a Vision Transformer for any Aspect
Ratio and Resolution", NeurIPS 2023) on a mixed-resolution Fashion-MNIST stream.

Images are resized (nearest neighbour) to 21x28, 28x28, 28x21 or 35x35 (HxW), cut
into 7x7 patches and packed greedily into one sequence (<= 128 tokens, <= 8 images).
Factorised x/y position embeddings, self-attention masked to each image, masked
mean pooling per image, linear head.

ONNX inputs (one pack, S = dynamic "seq"): patches float32 [S,49], pos_y int64 [S],
pos_x int64 [S], image_ids int64 [S] (0..7 = image slot in the pack, -1 = padding).
Output logits float32 [8,10]: row j = image slot j (rows of empty slots are meaningless).

Usage: python3 reference-models/recipes/navit.py [--epochs N] [--out DIR]
"""
import common

import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import synthetic as syn
from vit import Mlp, init_weights

CFG = dict(dim=64, depth=6, heads=4, mlp_ratio=4, patch=syn.NAVIT_PATCH, sizes=syn.NAVIT_SIZES,
           max_tokens=syn.NAVIT_MAX_TOKENS, max_images=syn.NAVIT_MAX_IMAGES)


class MaskedBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x, bias):                       # x [B,S,D], bias [B,1,S,S] (0 or -inf)
        b, s = x.shape[0], x.shape[1]
        qkv = self.qkv(self.norm1(x)).reshape(b, s, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        attn = ((qkv[0] @ qkv[1].transpose(-2, -1)) * self.hd ** -0.5 + bias).softmax(-1)
        x = x + self.proj((attn @ qkv[2]).transpose(1, 2).reshape(b, s, self.heads * self.hd))
        return x + self.mlp(self.norm2(x))


class NaViT(nn.Module):
    def __init__(self, dim=64, depth=6, heads=4, mlp_ratio=4, patch=7, classes=10, max_images=8, grid=syn.NAVIT_GRID, **_):
        super().__init__()
        self.max_images = max_images
        self.patch_embed = nn.Linear(patch * patch, dim)
        self.pos_y = nn.Embedding(grid, dim)
        self.pos_x = nn.Embedding(grid, dim)
        nn.init.normal_(self.pos_y.weight, std=0.02)
        nn.init.normal_(self.pos_x.weight, std=0.02)
        self.blocks = nn.ModuleList([MaskedBlock(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        self.apply(init_weights)

    def forward(self, patches, pos_y, pos_x, image_ids):
        """Batched packs: patches [B,S,49], pos_y/pos_x/image_ids [B,S] -> logits [B, max_images, classes]."""
        x = self.patch_embed(patches) + self.pos_y(pos_y.clamp(min=0)) + self.pos_x(pos_x.clamp(min=0))
        same = image_ids.unsqueeze(2) == image_ids.unsqueeze(1)                    # [B,S,S]
        bias = torch.zeros_like(same, dtype=x.dtype).masked_fill(~same, float("-inf")).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.norm(x)
        slots = torch.arange(self.max_images, dtype=image_ids.dtype)
        member = (image_ids.unsqueeze(2) == slots).to(x.dtype)                    # [B,S,M]
        counts = member.sum(1).clamp(min=1.0).unsqueeze(2)                        # [B,M,1]
        pooled = (member.transpose(1, 2) @ x) / counts                           # masked mean per image
        return self.head(pooled)


class OnnxPack(nn.Module):
    """Single pack without batch axis for export."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, patches, pos_y, pos_x, image_ids):
        return self.model(patches.unsqueeze(0), pos_y.unsqueeze(0), pos_x.unsqueeze(0), image_ids.unsqueeze(0))[0]


def build():
    return NaViT(**CFG)


def init_from_vit(model, vit_state):
    """Warm start from the trained `vit` (same width/depth/heads, 7x7 patches): the patch conv
    becomes the linear patch embedding, blocks/norm/head are copied, and the 4x4 learned
    positions are factorised: pos_y[r] = mean_c P[r,c] - m/2, pos_x[c] = mean_r P[r,c] - m/2
    (m = mean of all P); row/column 4 (35x35 images only) copies row/column 3."""
    sd = {}
    w = vit_state["patch_embed.weight"]
    sd["patch_embed.weight"] = w.reshape(w.shape[0], -1)
    sd["patch_embed.bias"] = vit_state["patch_embed.bias"]
    grid = vit_state["pos_embed"][0, 1:].reshape(4, 4, -1)
    m = grid.mean((0, 1))
    py, px = grid.mean(1) - m / 2, grid.mean(0) - m / 2
    sd["pos_y.weight"] = torch.cat([py, py[3:4]])
    sd["pos_x.weight"] = torch.cat([px, px[3:4]])
    for k, v in vit_state.items():
        if k.startswith("blocks."):
            sd[k.replace(".attn.", ".")] = v
        elif k.startswith("norm.") or k.startswith("head."):
            sd[k] = v
    model.load_state_dict(sd, strict=True)
    return "warm start from the trained vit reference model (patch embedding, factorised positions, blocks, head)"


def make_batch(images, sizes, packs):
    """Build one padded training batch from a list of packs (lists of image indices)."""
    arrays = [syn.navit_build_pack(images, sizes, m, pad_to=syn.NAVIT_MAX_TOKENS) for m in packs]
    return [torch.from_numpy(np.stack([a[k] for a in arrays])) for k in range(4)]


def epoch_packs(n, seed, gen):
    """Random sizes (SplitMix64, seed) and a shuffled order, greedily packed. Returns (sizes, packs)."""
    sizes = syn.navit_sizes(n, seed)
    order = torch.randperm(n, generator=gen).numpy()
    packs = syn.navit_pack([sizes[o] for o in order])
    return sizes, [[int(order[i]) for i in p] for p in packs]


def evaluate_stream(model, images, labels, seed=syn.NAVIT_EVAL_SEED):
    """Accuracy over the deterministic mixed-resolution stream (each pack run unpadded)."""
    sizes = syn.navit_sizes(len(images), seed)
    packs = syn.navit_pack(sizes)
    model.eval()
    correct, per_size = 0, np.zeros((4, 2))
    with torch.no_grad():
        for members in packs:
            p, y, x, ids = (torch.from_numpy(a).unsqueeze(0) for a in syn.navit_build_pack(images, sizes, members))
            pred = model(p, y, x, ids)[0, :len(members)].argmax(1).numpy()
            for j, i in enumerate(members):
                ok = pred[j] == labels[i]
                correct += ok
                per_size[sizes[i]] += (ok, 1)
    return correct / len(images), len(packs), (per_size[:, 0] / per_size[:, 1]).round(4).tolist()


def main():
    parser = common.base_parser(__doc__, epochs=5, batch=16, lr=1e-3, warmup_epochs=0.3,
                                budget_minutes=7, augment="flip")
    parser.add_argument("--no-init-from-vit", dest="init_from_vit", action="store_false", default=True)
    args = parser.parse_args()
    common.setup(args)
    xtr, ytr, xte, yte = common.load_fmnist(args.fashion_mnist)
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    tlog = common.teacher_logits(args, (xtr, ytr, xte, yte)) if args.distill else None
    te_imgs, te_labels = xte[:, 0].numpy(), yte.numpy()
    model = build()
    init = init_from_vit(model, common.load_vit_weights(args)) if args.init_from_vit else "random (seeded)"
    params = common.count_params(model)
    print(f"navit: {params} parameters, init: {init}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    per_epoch = len(epoch_packs(len(xtr), args.seed * 7919, torch.Generator().manual_seed(0))[1]) // args.batch
    ckpt_path = os.path.join(args.work, "navit.ckpt")
    state = {"epoch": 0, "history": [], "seconds": 0.0}
    cfg = dict(batch=args.batch, lr=args.lr, limit=args.limit, distill=args.distill, seed=args.seed)
    if os.path.exists(ckpt_path) and not args.fresh:
        ck = torch.load(ckpt_path)
        if ck["cfg"] == cfg:
            model.load_state_dict(ck["model"]), opt.load_state_dict(ck["opt"])
            state, args.epochs = ck["state"], ck["epochs"]
            print(f"resumed navit at epoch {state['epoch']} of {args.epochs}", flush=True)
    total = args.epochs * per_epoch
    warm = int(args.warmup_epochs * per_epoch)
    ep = state["epoch"] - 1
    while ep + 1 < args.epochs:
        ep += 1
        t0 = time.time()
        gen.manual_seed(args.seed * 1000 + ep)
        model.train()
        xa, flips = common.augment_mode(xtr, gen, args.augment)
        imgs = xa[:, 0].numpy()
        sizes, packs = epoch_packs(len(xtr), args.seed * 7919 + ep, gen)
        step_in_ep, tot = 0, 0.0
        while step_in_ep < per_epoch and step_in_ep * args.batch < len(packs):
            members = packs[step_in_ep * args.batch:(step_in_ep + 1) * args.batch]
            p, y, x, ids = make_batch(imgs, sizes, members)
            step = ep * per_epoch + step_in_ep
            for g in opt.param_groups:
                g["lr"] = common.lr_at(step, total, warm, args.lr)
            out = model(p, y, x, ids)                                    # [B, 8, 10]
            sel_b = torch.tensor([b for b, m in enumerate(members) for _ in m])
            sel_j = torch.tensor([j for m in members for j in range(len(m))])
            flat_idx = torch.tensor([i for m in members for i in m])
            logits = out[sel_b, sel_j]
            loss = F.cross_entropy(logits, ytr[flat_idx], label_smoothing=args.label_smoothing)
            if tlog is not None:
                t = torch.where(flips[flat_idx][:, None], tlog[1][flat_idx], tlog[0][flat_idx])
                loss = 0.5 * loss + 0.5 * F.cross_entropy(logits, t.argmax(1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += loss.item()
            step_in_ep += 1
            if ep == 0 and step_in_ep == 30 and args.budget_minutes > 0:
                fit = max(1, int(args.budget_minutes * 60 / ((time.time() - t0) / 30 * per_epoch + 20)))
                if fit < args.epochs:
                    print(f"  budget: epochs {args.epochs} -> {fit}", flush=True)
                    args.epochs, total = fit, fit * per_epoch
            if step_in_ep % 50 == 0:
                print(f"  navit ep {ep + 1} step {step_in_ep}/{per_epoch} loss {loss.item():.4f} "
                      f"{(time.time() - t0) / step_in_ep:.3f}s/step", flush=True)
        secs = time.time() - t0
        acc, npacks, per_size = evaluate_stream(model, te_imgs, te_labels)
        state["seconds"] += secs
        state["epoch"] = ep + 1
        state["history"].append({"epoch": ep + 1, "train_loss": round(tot / max(1, step_in_ep), 4),
                                 "stream_top1": round(acc, 4), "epoch_seconds": round(secs, 1)})
        print(f"navit epoch {ep + 1}/{args.epochs} stream acc {acc:.4f} per size {per_size} ({secs:.0f}s)", flush=True)
        torch.save({"cfg": cfg, "epochs": args.epochs, "model": model.state_dict(), "opt": opt.state_dict(),
                    "state": state}, ckpt_path)
    acc, npacks, per_size = evaluate_stream(model, te_imgs, te_labels)
    # export one real pack (dynamic seq)
    sizes = syn.navit_sizes(len(te_imgs), syn.NAVIT_EVAL_SEED)
    first = syn.navit_pack(sizes)[0]
    dummy = tuple(torch.from_numpy(a) for a in syn.navit_build_pack(te_imgs, sizes, first))
    wrapper = OnnxPack(model).eval()
    with torch.no_grad():
        ref = wrapper(*dummy)
    dyn = {n: {0: "seq"} for n in ("patches", "pos_y", "pos_x", "image_ids")}
    onnx_info = common.export_onnx(wrapper, dummy, os.path.join(args.out, "navit.onnx"),
                                   ["patches", "pos_y", "pos_x", "image_ids"], ["logits"], dyn,
                                   allowed_symbolic=("seq",))
    common.write_log(args, "navit", {
        "name": "navit",
        "paper": {"title": "Patch n' Pack: NaViT, a Vision Transformer for any Aspect Ratio and Resolution",
                  "year": 2023},
        "task": "Fashion-MNIST 10 classes over a mixed-resolution packed test stream",
        "mechanism": "patch n' pack (several images of different sizes in one sequence), factorised x/y position "
                     "embeddings, per-image attention mask, masked mean pooling per image",
        "architecture": {k: v for k, v in CFG.items()},
        "inputs": [{"name": "patches", "shape": ["seq", syn.NAVIT_PATCH ** 2], "dtype": "float32",
                    "preprocessing": {"scale": "1/255", "mean": common.MEAN, "std": common.STD,
                                      "formula": "x = (pixel / 255 - mean) / std, after nearest resize; "
                                                 "49 pixels of a 7x7 patch row-major"}},
                   {"name": "pos_y", "shape": ["seq"], "dtype": "int64", "meaning": "patch row 0..4"},
                   {"name": "pos_x", "shape": ["seq"], "dtype": "int64", "meaning": "patch column 0..4"},
                   {"name": "image_ids", "shape": ["seq"], "dtype": "int64",
                    "meaning": "image slot in the pack 0..7, -1 = padding token"}],
        "outputs": [{"name": "logits", "shape": [syn.NAVIT_MAX_IMAGES, 10], "dtype": "float32",
                     "meaning": "row j = class logits of image slot j; rows of unused slots are meaningless"}],
        "params": params, "training": common.recipe_dict(
            args, augmentation=common.AUGMENT_TEXT[args.augment] + " on the 28x28 image, then random size (SplitMix64 seeded per epoch) and "
                               "greedy packing of a shuffled order; training packs padded to 128 tokens",
            packs_per_batch=args.batch, initialisation=init),
        "seed": args.seed, "train_minutes": round(state["seconds"] / 60, 2),
        "metric": {"name": "top1", "split": f"mixed-resolution stream of the 10,000 test images ({npacks} packs, "
                                            f"seed {hex(syn.NAVIT_EVAL_SEED)}, see README)",
                   "pytorch": round(float(acc), 4), "per_size_top1": dict(zip(map(str, syn.NAVIT_SIZES), per_size))},
        "export_example": {"first_pack_images": len(first), "first_pack_tokens": int(dummy[0].shape[0]),
                           "first_pack_logits_row0": [round(v, 5) for v in ref[0].tolist()]},
        "history": state["history"], "onnx": onnx_info})


if __name__ == "__main__":
    main()
