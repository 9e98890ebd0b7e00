"""Shared code of the slimnx reference-model recipes.

Data loading (IDX gzip), batched augmentation, a small CNN teacher for DeiT-style
hard distillation, AdamW with linear warm-up + cosine decay, resumable training,
evaluation, ONNX export with checks, and the JSON training log.
"""
import os

# OpenBLAS threads fight with torch's OpenMP threads on 2 cores: keep BLAS single-threaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gzip
import json
import math
import os
import platform
import random
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

RECIPES_DIR = os.path.dirname(os.path.abspath(__file__))
REF_DIR = os.path.dirname(RECIPES_DIR)
MODELS_DIR = os.path.join(REF_DIR, "models")
LOGS_DIR = os.path.join(REF_DIR, "training-logs")
DATA_DIR = os.path.join(REF_DIR, "data")

# Normalisation used by every model: x = (pixel / 255 - MEAN) / STD
MEAN = 0.2860
STD = 0.3530
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SEED = 20240601


def default_fmnist_dir():
    """Directory with the four Fashion-MNIST *.gz files (override: FASHION_MNIST_DIR or --fashion-mnist)."""
    return os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def default_work_dir():
    """Checkpoints and cached teacher logits (not committed)."""
    return os.environ.get("SLIMNX_REF_WORK", os.path.join(tempfile.gettempdir(), "slimnx-reference-work"))


def read_idx_gz(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 0x08, "only uint8 IDX files"
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_fmnist_uint8(fmnist_dir):
    j = lambda n: read_idx_gz(os.path.join(fmnist_dir, n))
    return (j("train-images-idx3-ubyte.gz"), j("train-labels-idx1-ubyte.gz"),
            j("t10k-images-idx3-ubyte.gz"), j("t10k-labels-idx1-ubyte.gz"))


def normalise_uint8(images):
    """uint8 [..., H, W] -> float32 tensor, pixel/255 then (x - MEAN) / STD."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    return t.sub_(MEAN).div_(STD)


def load_fmnist(fmnist_dir):
    xtr, ytr, xte, yte = load_fmnist_uint8(fmnist_dir)
    return (normalise_uint8(xtr).unsqueeze(1), torch.from_numpy(ytr.astype(np.int64)),
            normalise_uint8(xte).unsqueeze(1), torch.from_numpy(yte.astype(np.int64)))


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def augment_mode(x, gen, mode):
    if mode == "crop-flip":
        return augment(x, gen)
    flips = torch.rand(x.shape[0], generator=gen) < 0.5
    if mode == "none":
        return x, torch.zeros_like(flips)
    return torch.where(flips[:, None, None, None], x.flip(3), x), flips


def augment(x, gen, pad=2, flip=True):
    """Random crop with zero(-pixel) padding and horizontal flip, batched.

    Returns (augmented batch, flip flags)."""
    b, c, h, w = x.shape
    bg = (0.0 - MEAN) / STD
    xp = F.pad(x, (pad, pad, pad, pad), value=bg)
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    rows = (torch.arange(h)[None, :] + dy[:, None])[:, :, None]
    cols = (torch.arange(w)[None, :] + dx[:, None])
    if flip:
        flips = torch.rand(b, generator=gen) < 0.5
        cols = torch.where(flips[:, None], cols.flip(1), cols)
    else:
        flips = torch.zeros(b, dtype=torch.bool)
    cols = cols[:, None, :]
    bidx = torch.arange(b)[:, None, None]
    out = xp[:, 0][bidx, rows, cols].unsqueeze(1)
    if c > 1:
        out = torch.stack([xp[:, i][bidx, rows, cols] for i in range(c)], 1)
    return out.contiguous(), flips


def lr_at(step, total, warmup, base_lr, min_ratio=0.01):
    if step < warmup:
        return base_lr * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def base_parser(description, epochs, batch, lr, weight_decay=0.05, warmup_epochs=1.0,
                label_smoothing=0.1, distill=True, budget_minutes=0.0,
                channels_last=False, augment="crop-flip"):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--weight-decay", type=float, default=weight_decay)
    p.add_argument("--warmup-epochs", type=float, default=warmup_epochs)
    p.add_argument("--label-smoothing", type=float, default=label_smoothing)
    p.add_argument("--no-distill", dest="distill", action="store_false", default=distill)
    p.add_argument("--out", default=MODELS_DIR, help="directory for <name>.onnx")
    p.add_argument("--logs", default=LOGS_DIR, help="directory for <name>.json")
    p.add_argument("--fashion-mnist", default=default_fmnist_dir())
    p.add_argument("--work", default=default_work_dir(), help="checkpoints / teacher cache")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="use only N training samples (timing runs)")
    p.add_argument("--fresh", action="store_true", help="ignore existing checkpoints")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--augment", choices=["crop-flip", "flip", "none"], default=augment,
                   help="crop-flip: random 28x28 crop of the 2-px padded image + horizontal flip; flip: flip only")
    p.add_argument("--extend-epochs", type=int, default=0,
                   help="after the main schedule, train this many more epochs with a second cosine from --extend-lr")
    p.add_argument("--extend-lr", type=float, default=3e-4)
    p.add_argument("--channels-last", action="store_true", default=channels_last,
                   help="train in channels_last memory format (faster convs on CPU)")
    p.add_argument("--budget-minutes", type=float, default=budget_minutes,
                   help="cap the epochs so training fits this many minutes (measured on the first steps); 0 = off")
    return p


def setup(args):
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.logs, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)


# ---------------------------------------------------------------- teacher
class TeacherCNN(nn.Module):
    """Small CNN used only as a distillation teacher (never exported)."""

    def __init__(self):
        super().__init__()
        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
        self.features = nn.Sequential(block(1, 32), nn.MaxPool2d(2), block(32, 64), nn.MaxPool2d(2),
                                      block(64, 128))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * 7 * 7, 10))

    def forward(self, x):
        return self.head(self.features(x))


def teacher_logits(args, data, epochs=4):
    """Train the teacher once (cached in the work dir); return its logits on the
    unaugmented training set and on its horizontal mirror: tensor [2, N, 10]."""
    path = os.path.join(args.work, "teacher_logits.pt")
    if os.path.exists(path):
        return torch.load(path)["logits"]
    xtr, ytr, xte, yte = data
    set_seed(1234)
    model = TeacherCNN()
    gen = torch.Generator().manual_seed(1234)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    bs = 128
    steps = epochs * (len(xtr) // bs)
    step = 0
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(len(xtr) // bs):
            idx = perm[i * bs:(i + 1) * bs]
            xb, _ = augment(xtr[idx], gen)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, steps, 200, 2e-3)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        acc = evaluate(model, xte, yte)
        print(f"teacher epoch {ep + 1}/{epochs} test acc {acc:.4f} ({(time.time() - t0) / 60:.1f} min)", flush=True)
    model.eval()
    with torch.no_grad():
        plain = torch.cat([model(xtr[i:i + 1000]) for i in range(0, len(xtr), 1000)])
        flipped = torch.cat([model(xtr[i:i + 1000].flip(3)) for i in range(0, len(xtr), 1000)])
    logits = torch.stack([plain, flipped])
    torch.save({"logits": logits, "test_acc": acc, "minutes": (time.time() - t0) / 60}, path)
    return logits


def teacher_info(args):
    path = os.path.join(args.work, "teacher_logits.pt")
    d = torch.load(path)
    return {"model": "TeacherCNN (3 conv blocks 32-64-128, BN, ReLU, 2 max-pools, linear)",
            "test_top1": round(float(d["test_acc"]), 4), "train_minutes": round(d["minutes"], 2),
            "type": "DeiT-style hard distillation without distillation token: loss = 0.5*CE_ls(student, label)"
                    " + 0.5*CE(student, argmax teacher); teacher logits cached for the plain and mirrored"
                    " training images (crop shifts of <=2 px ignored)"}


# ---------------------------------------------------------------- train / eval
@torch.no_grad()
def evaluate(model, x, y, bs=500, forward=None):
    model.eval()
    correct = 0
    for i in range(0, len(x), bs):
        out = forward(x[i:i + bs]) if forward else model(x[i:i + bs])
        correct += (out.argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def train_classifier(model, name, args, data, forward=None, extra_ckpt=None):
    """Generic classification training (AdamW, warm-up + cosine, label smoothing,
    crop+flip augmentation, optional hard distillation). Resumable per epoch."""
    xtr, ytr, xte, yte = data
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    tlog = teacher_logits(args, data) if args.distill else None
    fwd = forward or model
    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or "pos" in n_ or "token" in n_ else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    bs = args.batch
    per_epoch = len(xtr) // bs
    total = args.epochs * per_epoch
    warm = int(args.warmup_epochs * per_epoch)
    ckpt_path = os.path.join(args.work, f"{name}.ckpt")
    state = {"epoch": 0, "history": [], "seconds": 0.0}
    cfg = dict(batch=bs, lr=args.lr, limit=args.limit, distill=args.distill, seed=args.seed)
    if os.path.exists(ckpt_path) and not args.fresh:
        ck = torch.load(ckpt_path)
        if ck["cfg"] == cfg:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            state = ck["state"]
            args.epochs = ck["epochs"]
            total = args.epochs * per_epoch
            print(f"resumed {name} at epoch {state['epoch']} of {args.epochs}", flush=True)
    gen = torch.Generator().manual_seed(args.seed)
    fmt = torch.channels_last if getattr(args, "channels_last", False) else torch.contiguous_format
    model.to(memory_format=fmt)
    ep = state["epoch"] - 1
    while ep + 1 < args.epochs:
        ep += 1
        gen.manual_seed(args.seed * 1000 + ep)
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot_loss = 0.0
        for i in range(per_epoch):
            step = ep * per_epoch + i
            idx = perm[i * bs:(i + 1) * bs]
            xb, flips = augment_mode(xtr[idx], gen, args.augment)
            xb = xb.contiguous(memory_format=fmt)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warm, args.lr)
            out = fwd(xb)
            loss = F.cross_entropy(out, ytr[idx], label_smoothing=args.label_smoothing)
            if tlog is not None:
                t = torch.where(flips[:, None], tlog[1][idx], tlog[0][idx])
                loss = 0.5 * loss + 0.5 * F.cross_entropy(out, t.argmax(1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot_loss += loss.item()
            if ep == 0 and i == 40 and args.budget_minutes > 0:
                per_step = (time.time() - t0) / 41
                fit = max(1, int(args.budget_minutes * 60 / (per_step * per_epoch + 5)))
                if fit < args.epochs:
                    print(f"  budget {args.budget_minutes} min at {per_step:.3f}s/step: epochs {args.epochs} -> {fit}",
                          flush=True)
                    args.epochs = fit
                    total = args.epochs * per_epoch
            if i % 100 == 0:
                print(f"  {name} ep {ep + 1} step {i}/{per_epoch} loss {loss.item():.4f} "
                      f"{(time.time() - t0) / (i + 1):.3f}s/step", flush=True)
        secs = time.time() - t0
        acc = evaluate(model, xte, yte, forward=forward)
        state["seconds"] += secs
        state["epoch"] = ep + 1
        state["history"].append({"epoch": ep + 1, "train_loss": round(tot_loss / per_epoch, 4),
                                 "test_top1": round(acc, 4), "epoch_seconds": round(secs, 1)})
        print(f"{name} epoch {ep + 1}/{args.epochs} loss {tot_loss / per_epoch:.4f} test acc {acc:.4f} "
              f"({secs:.0f}s)", flush=True)
        torch.save({"cfg": cfg, "epochs": args.epochs, "model": model.state_dict(), "opt": opt.state_dict(),
                    "state": state}, ckpt_path)
    # optional extension: a second, short cosine cycle at a lower peak lr (no warm-up)
    ext_total = args.extend_epochs * per_epoch
    while state.get("extended", 0) < args.extend_epochs:
        e = state.get("extended", 0)
        ep = args.epochs + e
        gen.manual_seed(args.seed * 1000 + ep)
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot_loss = 0.0
        for i in range(per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            xb, flips = augment_mode(xtr[idx], gen, args.augment)
            xb = xb.contiguous(memory_format=fmt)
            for g in opt.param_groups:
                g["lr"] = lr_at(e * per_epoch + i, ext_total, 0, args.extend_lr)
            out = fwd(xb)
            loss = F.cross_entropy(out, ytr[idx], label_smoothing=args.label_smoothing)
            if tlog is not None:
                t = torch.where(flips[:, None], tlog[1][idx], tlog[0][idx])
                loss = 0.5 * loss + 0.5 * F.cross_entropy(out, t.argmax(1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot_loss += loss.item()
        secs = time.time() - t0
        acc = evaluate(model, xte, yte, forward=forward)
        state["seconds"] += secs
        state["extended"] = e + 1
        state["history"].append({"epoch": ep + 1, "extension": True, "train_loss": round(tot_loss / per_epoch, 4),
                                 "test_top1": round(acc, 4), "epoch_seconds": round(secs, 1)})
        print(f"{name} extension epoch {e + 1}/{args.extend_epochs} test acc {acc:.4f} ({secs:.0f}s)", flush=True)
        torch.save({"cfg": cfg, "epochs": args.epochs, "model": model.state_dict(), "opt": opt.state_dict(),
                    "state": state}, ckpt_path)
    model.to(memory_format=torch.contiguous_format)
    return state


AUGMENT_TEXT = {"crop-flip": "random crop 28x28 from the 2-px padded image + horizontal flip (p=0.5)",
                "flip": "horizontal flip (p=0.5)", "none": "none"}


def recipe_dict(args, augmentation=None, **extra):
    augmentation = augmentation or AUGMENT_TEXT[args.augment]
    d = {"epochs": args.epochs, "batch": args.batch, "optimizer": "AdamW",
         "lr": args.lr, "weight_decay": args.weight_decay,
         "schedule": f"linear warm-up {args.warmup_epochs} epoch(s), then cosine decay to 1% of lr (per step)",
         "augmentation": augmentation, "label_smoothing": args.label_smoothing,
         "distillation": teacher_info(args) if args.distill else None,
         "train_samples": args.limit or 60000,
         "epoch_budget": f"epochs capped to fit {args.budget_minutes} min" if args.budget_minutes else None,
         "extension": (f"{args.extend_epochs} more epochs, cosine from lr {args.extend_lr} to 1% (no warm-up)"
                       if args.extend_epochs else None)}
    d.update(extra)
    return d


# ---------------------------------------------------------------- ONNX
def export_onnx(model, dummy, path, input_names, output_names, dynamic_axes, allowed_symbolic=("batch",)):
    """Export (opset 17, constant folding), check the model, and run shape inference
    (with data propagation). Batch models: a tensor may keep at most one symbolic
    dimension, the batch (axis 0, or wherever a transpose moved it, e.g. [3, B, H, N, d]);
    every other dimension must be a number. navit: only dims named in allowed_symbolic."""
    import onnx
    model.eval()
    torch.onnx.export(model, dummy, path, opset_version=17, do_constant_folding=True,
                      input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    inferred = onnx.shape_inference.infer_shapes(m, data_prop=True)
    bad = []
    checked = 0
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
        checked += 1
        dims = vi.type.tensor_type.shape.dim
        symbolic = [(ax, d.dim_param) for ax, d in enumerate(dims) if not d.HasField("dim_value")]
        if "batch" in allowed_symbolic:
            if len(symbolic) > 1:
                bad.append(f"{vi.name}{[f'{a}={p}' for a, p in symbolic]}")
        else:
            bad += [f"{vi.name}[{a}]={p or '?'}" for a, p in symbolic if p not in allowed_symbolic]
    size = os.path.getsize(path)
    print(f"exported {path}: {size / 1e6:.2f} MB, opset 17, shape-inference violations: {bad[:10]}", flush=True)
    return {"file": os.path.basename(path), "bytes": size, "opset": 17,
            "shape_inference": {"tensors_checked": checked, "rule": "batch models: at most one symbolic "
                                "(batch) dim per tensor; navit: only 'seq' symbolic", "violations": bad}}


def write_log(args, name, log):
    log.setdefault("torch_version", torch.__version__)
    log.setdefault("machine", f"{platform.machine()}, {os.cpu_count()} cores, torch.set_num_threads({args.threads}), CPU only")
    path = os.path.join(args.logs, f"{name}.json")
    with open(path, "w") as f:
        json.dump(log, f, indent=2)
        f.write("\n")
    print("wrote", path, flush=True)


def image_input_spec(name="input", h=28, w=28):
    return {"name": name, "shape": ["batch", 1, h, w], "dtype": "float32", "layout": "NCHW",
            "preprocessing": {"scale": "1/255", "mean": MEAN, "std": STD,
                              "formula": "x = (pixel / 255 - mean) / std"}}


# ---------------------------------------------------------------- driver
def run_classifier(name, paper, build_fn, cfg, description, parser_defaults, mechanism, init_fn=None):
    """Shared driver for the single-input classifiers (vit, deepvit, ...).
    init_fn(model, args) -> description: optional warm start (recorded in the log)."""
    args = base_parser(description, **parser_defaults).parse_args()
    setup(args)
    data = load_fmnist(args.fashion_mnist)
    model = build_fn()
    init = init_fn(model, args) if init_fn else "random (seeded)"
    params = count_params(model)
    print(f"{name}: {params} parameters, cfg {cfg}", flush=True)
    t0 = time.time()
    state = train_classifier(model, name, args, data)
    model.eval()
    acc = evaluate(model, data[2], data[3])
    print(f"{name}: final test top-1 {acc:.4f}", flush=True)
    onnx_info = export_onnx(model, torch.zeros(1, 1, 28, 28), f"{args.out}/{name}.onnx",
                                   ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}})
    write_log(args, name, {
        "name": name, "paper": paper, "task": "Fashion-MNIST 10-class image classification",
        "mechanism": mechanism, "architecture": cfg,
        "inputs": [image_input_spec()],
        "outputs": [{"name": "logits", "shape": ["batch", 10], "dtype": "float32",
                     "meaning": "class logits (argmax = predicted class, classes " + ", ".join(CLASSES) + ")"}],
        "params": params, "training": recipe_dict(args, initialisation=init), "seed": args.seed,
        "train_minutes": round(state["seconds"] / 60, 2),
        "metric": {"name": "top1", "split": "Fashion-MNIST test (10,000)", "pytorch": round(acc, 4)},
        "history": state["history"], "onnx": onnx_info})
    return model, acc


def load_vit_weights(args):
    """State dict of the trained `vit` reference model (checkpoint in the work dir; run vit.py first)."""
    path = os.path.join(args.work, "vit.ckpt")
    if not os.path.exists(path):
        raise SystemExit(f"{path} missing: run vit.py first (same --work)")
    return torch.load(path)["model"]
