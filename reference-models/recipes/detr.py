"""DETR (Carion et al., "End-to-End Object Detection with Transformers", ECCV 2020) on
64x64 canvases holding 1-4 Fashion-MNIST items (deterministic generator, synthetic.py).

CNN backbone (3 stride-2 3x3 Conv+BN+ReLU), 1x1 projection, learned 2-D position
embeddings, transformer encoder-decoder (post-LN as in DETR), learned object queries,
class head (10 classes + no-object) and 3-layer box MLP (sigmoid cx,cy,w,h).
Training: Hungarian matching (exact, brute force over assignments: <= 4 objects)
with cost 1*(-p_class) + 5*L1 + 2*(-GIoU); loss CE (no-object weight 0.1) + 5*L1 +
2*(1-GIoU), auxiliary losses on every decoder layer.

Usage: python3 reference-models/recipes/detr.py [--epochs N] [--out DIR]
"""
import common

import itertools
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import synthetic as syn

CFG = dict(dim=64, heads=4, enc_layers=2, dec_layers=2, ffn=128, queries=8, backbone=(32, 64, 128))
NO_OBJECT_WEIGHT = 0.1
TRAIN_CANVASES_PER_EPOCH = 20000


class MHA(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.h, self.hd = heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)

    def forward(self, q, k, v):
        nq, nk = q.shape[1], k.shape[1]
        q = self.q(q).reshape(-1, nq, self.h, self.hd).transpose(1, 2)
        k = self.k(k).reshape(-1, nk, self.h, self.hd).transpose(1, 2)
        v = self.v(v).reshape(-1, nk, self.h, self.hd).transpose(1, 2)
        a = ((q @ k.transpose(-2, -1)) * self.hd ** -0.5).softmax(-1)
        return self.o((a @ v).transpose(1, 2).reshape(-1, nq, self.h * self.hd))


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.attn = MHA(d, heads)
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.ReLU(), nn.Linear(ffn, d))

    def forward(self, x, pos):
        qk = x + pos
        x = self.n1(x + self.attn(qk, qk, x))
        return self.n2(x + self.ffn(x))


class DecoderLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.self_attn = MHA(d, heads)
        self.cross_attn = MHA(d, heads)
        self.n1, self.n2, self.n3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.ReLU(), nn.Linear(ffn, d))

    def forward(self, t, query_pos, mem, pos):
        qk = t + query_pos
        t = self.n1(t + self.self_attn(qk, qk, t))
        t = self.n2(t + self.cross_attn(t + query_pos, mem + pos, mem))
        return self.n3(t + self.ffn(t))


class DETR(nn.Module):
    def __init__(self, dim=64, heads=4, enc_layers=2, dec_layers=2, ffn=128, queries=8, backbone=(32, 64, 128),
                 classes=10):
        super().__init__()
        layers, cin = [], 1
        for c in backbone:
            layers += [nn.Conv2d(cin, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            cin = c
        self.backbone = nn.Sequential(*layers)                       # 64 -> 8
        self.dim = dim
        self.input_proj = nn.Conv2d(cin, dim, 1)
        self.pos = nn.Parameter(torch.randn(1, 64, dim) * 0.02)      # learned 8x8 positions
        self.encoder = nn.ModuleList([EncoderLayer(dim, heads, ffn) for _ in range(enc_layers)])
        self.decoder = nn.ModuleList([DecoderLayer(dim, heads, ffn) for _ in range(dec_layers)])
        self.query_pos = nn.Parameter(torch.randn(1, queries, dim))
        self.class_head = nn.Linear(dim, classes + 1)
        self.box_head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(),
                                      nn.Linear(dim, 4))

    def forward(self, x, aux=False):
        f = self.input_proj(self.backbone(x)).reshape(-1, self.dim, 64).transpose(1, 2)   # [B, 64, D]
        for layer in self.encoder:
            f = layer(f, self.pos)
        qp = self.query_pos.expand(x.shape[0], -1, -1)
        t = torch.zeros_like(qp)
        outs = []
        for layer in self.decoder:
            t = layer(t, qp, f, self.pos)
            outs.append(t)
        heads = [(self.class_head(o), self.box_head(o).sigmoid()) for o in outs]
        return heads if aux else heads[-1]


# ------------------------------------------------------------------ matching / loss
def box_xyxy(b):
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def giou(a, b):
    """Pairwise generalised IoU of xyxy boxes a [N,4], b [M,4] -> [N,M]."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    iou = inter / union
    lt2 = torch.min(a[:, None, :2], b[None, :, :2])
    rb2 = torch.max(a[:, None, 2:], b[None, :, 2:])
    hull = (rb2 - lt2).clamp(min=0).prod(-1)
    return iou - (hull - union) / hull


_PERMS = {}


def match(cost):
    """Exact minimum-cost assignment of the k targets (columns) to distinct queries (rows),
    brute force over all ordered selections of k queries (k <= 4, 8 queries: <= 1680)."""
    q, k = cost.shape
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = (q, k)
    if key not in _PERMS:
        _PERMS[key] = np.array(list(itertools.permutations(range(q), k)), np.int64)
    perms = _PERMS[key]
    totals = cost[perms, np.arange(k)[None, :]].sum(1)
    best = perms[int(np.argmin(totals))]
    return best, np.arange(k)


def detr_loss(pred_logits, pred_boxes, tgt_boxes, tgt_classes, classes=10):
    bsz, nq = pred_logits.shape[:2]
    prob = pred_logits.softmax(-1).detach()
    target_cls = torch.full((bsz, nq), classes, dtype=torch.long)
    src_b, tgt_b = [], []
    for b in range(bsz):
        tb, tc = tgt_boxes[b], tgt_classes[b]
        if len(tc) == 0:
            continue
        with torch.no_grad():
            c = (-prob[b][:, tc] + 5 * torch.cdist(pred_boxes[b].detach(), tb, p=1)
                 - 2 * giou(box_xyxy(pred_boxes[b].detach()), box_xyxy(tb)))
        qi, ti = match(c.numpy())
        target_cls[b, qi] = tc[ti]
        src_b.append(pred_boxes[b][qi])
        tgt_b.append(tb[ti])
    weight = torch.ones(classes + 1)
    weight[classes] = NO_OBJECT_WEIGHT
    loss_ce = F.cross_entropy(pred_logits.reshape(-1, classes + 1), target_cls.reshape(-1), weight=weight)
    src, tgt = torch.cat(src_b), torch.cat(tgt_b)
    n = max(1, len(tgt))
    loss_l1 = F.l1_loss(src, tgt, reduction="sum") / n
    loss_giou = (1 - torch.diag(giou(box_xyxy(src), box_xyxy(tgt)))).sum() / n
    return loss_ce + 5 * loss_l1 + 2 * loss_giou


# ------------------------------------------------------------------ mAP@0.5
def iou_np(a, b):
    ax0, ay0, ax1, ay1 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx0, by0, bx1, by1 = b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    return inter / (a[2] * a[3] + b[:, 2] * b[:, 3] - inter)


def mean_ap(pred_logits, pred_boxes, gt_boxes, gt_classes, classes=10, thr=0.5):
    """COCO-style AP at IoU 0.5 with 101-point interpolation, averaged over classes with GT.
    Every query is a detection: label = argmax over the 10 real classes of softmax(logits),
    score = that probability."""
    prob = torch.from_numpy(pred_logits).softmax(-1).numpy()[..., :classes]
    labels, scores = prob.argmax(-1), prob.max(-1)
    aps = []
    for c in range(classes):
        dets = [(scores[i, q], i, q) for i in range(len(labels)) for q in range(labels.shape[1]) if labels[i, q] == c]
        n_gt = sum(int((g == c).sum()) for g in gt_classes)
        if n_gt == 0:
            continue
        dets.sort(key=lambda d: -d[0])       # stable: ties keep image/query order
        used = [np.zeros(len(g), bool) for g in gt_classes]
        tp = np.zeros(len(dets))
        for di, (s, i, q) in enumerate(dets):
            g = gt_classes[i]
            cand = np.where((g == c) & ~used[i])[0]
            if len(cand) == 0:
                continue
            ious = iou_np(pred_boxes[i, q], gt_boxes[i][cand])
            j = int(np.argmax(ious))
            if ious[j] >= thr:
                used[i][cand[j]] = True
                tp[di] = 1
        ctp = np.cumsum(tp)
        recall = ctp / n_gt
        precision = ctp / np.arange(1, len(dets) + 1)
        for k in range(len(precision) - 2, -1, -1):
            precision[k] = max(precision[k], precision[k + 1])
        ap = 0.0
        for r in np.linspace(0, 1, 101):
            idx = np.searchsorted(recall, r, side="left")
            ap += precision[idx] if idx < len(precision) else 0.0
        aps.append(ap / 101)
    return float(np.mean(aps))


def to_input(canvases):
    return common.normalise_uint8(canvases).unsqueeze(1)


def evaluate(model, x, boxes, classes):
    model.eval()
    with torch.no_grad():
        outs = [model(x[i:i + 100]) for i in range(0, len(x), 100)]
    logits = torch.cat([o[0] for o in outs]).numpy()
    pboxes = torch.cat([o[1] for o in outs]).numpy()
    return mean_ap(logits, pboxes, boxes, classes)


def main():
    args = common.base_parser(__doc__, epochs=15, batch=64, lr=1e-3, weight_decay=1e-4, warmup_epochs=0.5,
                              distill=False, budget_minutes=9).parse_args()
    common.setup(args)
    xtr_u8, ytr, xte_u8, yte = common.load_fmnist_uint8(args.fashion_mnist)
    if args.limit:
        xtr_u8, ytr = xtr_u8[:args.limit], ytr[:args.limit]
    ev_c, ev_b, ev_k = syn.make_canvases(syn.DETR_EVAL_COUNT, syn.DETR_EVAL_SEED, xte_u8, yte)
    ev_x = to_input(ev_c)
    model = DETR(**CFG)
    params = common.count_params(model)
    print(f"detr: {params} parameters, eval objects {sum(len(k) for k in ev_k)}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    n_canvas = args.limit or TRAIN_CANVASES_PER_EPOCH
    per_epoch = n_canvas // args.batch
    ckpt_path = os.path.join(args.work, "detr.ckpt")
    state = {"epoch": 0, "history": [], "seconds": 0.0}
    cfg = dict(batch=args.batch, lr=args.lr, limit=args.limit, seed=args.seed)
    if os.path.exists(ckpt_path) and not args.fresh:
        ck = torch.load(ckpt_path)
        if ck["cfg"] == cfg:
            model.load_state_dict(ck["model"]), opt.load_state_dict(ck["opt"])
            state, args.epochs = ck["state"], ck["epochs"]
            print(f"resumed detr at epoch {state['epoch']} of {args.epochs}", flush=True)
    total = args.epochs * per_epoch
    warm = int(args.warmup_epochs * per_epoch)
    ep = state["epoch"] - 1
    while ep + 1 < args.epochs:
        ep += 1
        t0 = time.time()
        # fresh training canvases every epoch, from the training images, seed = args.seed + epoch
        tr_c, tr_b, tr_k = syn.make_canvases(n_canvas, args.seed + 1000 * (ep + 1), xtr_u8, ytr)
        tr_x = to_input(tr_c)
        gen_time = time.time() - t0
        model.train()
        tot = 0.0
        for i in range(per_epoch):
            step = ep * per_epoch + i
            for g in opt.param_groups:
                g["lr"] = common.lr_at(step, total, warm, args.lr)
            sl = slice(i * args.batch, (i + 1) * args.batch)
            tb = [torch.from_numpy(b) for b in tr_b[sl]]
            tc = [torch.from_numpy(c) for c in tr_k[sl]]
            xb = tr_x[sl]
            outs = model(xb, aux=True)
            loss = sum(detr_loss(lg, bx, tb, tc) for lg, bx in outs)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tot += loss.item()
            if ep == 0 and i == 30 and args.budget_minutes > 0:
                per_step = (time.time() - t0 - gen_time) / 31
                fit = max(1, int(args.budget_minutes * 60 / (per_step * per_epoch + gen_time + 15)))
                if fit < args.epochs:
                    print(f"  budget: epochs {args.epochs} -> {fit}", flush=True)
                    args.epochs, total = fit, fit * per_epoch
            if i % 50 == 0:
                print(f"  detr ep {ep + 1} step {i}/{per_epoch} loss {loss.item():.4f} "
                      f"{(time.time() - t0 - gen_time) / (i + 1):.3f}s/step", flush=True)
        secs = time.time() - t0
        m_ap = evaluate(model, ev_x, ev_b, ev_k)
        state["seconds"] += secs
        state["epoch"] = ep + 1
        state["history"].append({"epoch": ep + 1, "train_loss": round(tot / per_epoch, 4),
                                 "map50": round(m_ap, 4), "epoch_seconds": round(secs, 1)})
        print(f"detr epoch {ep + 1}/{args.epochs} loss {tot / per_epoch:.4f} mAP@0.5 {m_ap:.4f} ({secs:.0f}s)",
              flush=True)
        torch.save({"cfg": cfg, "epochs": args.epochs, "model": model.state_dict(), "opt": opt.state_dict(),
                    "state": state}, ckpt_path)
    m_ap = evaluate(model, ev_x, ev_b, ev_k)
    onnx_info = common.export_onnx(model, torch.zeros(1, 1, 64, 64), os.path.join(args.out, "detr.onnx"),
                                   ["input"], ["logits", "boxes"],
                                   {"input": {0: "batch"}, "logits": {0: "batch"}, "boxes": {0: "batch"}})
    common.write_log(args, "detr", {
        "name": "detr",
        "paper": {"title": "End-to-End Object Detection with Transformers", "year": 2020},
        "task": "detection of 1-4 Fashion-MNIST items on 64x64 canvases (10 classes + no-object)",
        "mechanism": "CNN backbone, 1x1 projection, transformer encoder-decoder, learned object queries, "
                     "class (+no-object) and box heads, Hungarian-matching set loss with auxiliary decoder losses",
        "architecture": CFG,
        "inputs": [common.image_input_spec(h=64, w=64)],
        "outputs": [{"name": "logits", "shape": ["batch", CFG["queries"], 11], "dtype": "float32",
                     "meaning": "per query class logits; index 10 = no-object"},
                    {"name": "boxes", "shape": ["batch", CFG["queries"], 4], "dtype": "float32",
                     "meaning": "per query box (cx, cy, w, h), sigmoid, normalised to [0,1] of the 64x64 canvas"}],
        "params": params,
        "training": common.recipe_dict(
            args, augmentation=f"{n_canvas} fresh canvases per epoch from the training images "
                               "(generator of the README, seed = training seed + 1000*epoch)",
            matching="exact minimum-cost assignment (brute force), cost = -p(class) + 5*L1 + 2*(-GIoU)",
            loss="CE (no-object weight 0.1) + 5*L1 + 2*(1-GIoU), on each decoder layer", grad_clip=1.0),
        "seed": args.seed, "train_minutes": round(state["seconds"] / 60, 2),
        "metric": {"name": "mAP@0.5 (COCO-style 101-point interpolation, mean over classes; every query is a "
                           "detection with label = argmax of the 10 real-class probabilities, score = its probability)",
                   "split": f"{syn.DETR_EVAL_COUNT} canvases from the test images, seed {hex(syn.DETR_EVAL_SEED)}",
                   "pytorch": round(m_ap, 4)},
        "history": state["history"], "onnx": onnx_info})


if __name__ == "__main__":
    main()
