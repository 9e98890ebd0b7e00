"""Deterministic data sets shared by navit.py and detr.py (and reimplemented in Java).

Everything here is integer-exact: a SplitMix64 generator, nearest-neighbour resizing
with an integer index formula, the NaViT mixed-resolution stream + packing, and the
DETR 64x64 multi-object canvases. The README section "Deterministic data sets"
specifies the same algorithms step by step.
"""
import numpy as np

MASK64 = (1 << 64) - 1


class SplitMix64:
    """state += 0x9E3779B97F4A7C15; z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
    return z ^ (z >> 31)            (all arithmetic modulo 2^64, unsigned)"""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """next() mod n (unsigned remainder)."""
        return self.next() % n


def nn_index(out_size, in_size=28):
    """Nearest-neighbour source index for each output index: ((2*o + 1) * in) // (2 * out)."""
    return (2 * np.arange(out_size) + 1) * in_size // (2 * out_size)


def resize_nn(img, out_h, out_w):
    """img [..., H, W] -> [..., out_h, out_w] with out[y, x] = img[nn_index(y), nn_index(x)]."""
    h, w = img.shape[-2], img.shape[-1]
    return img[..., nn_index(out_h, h)[:, None], nn_index(out_w, w)[None, :]]


# ------------------------------------------------------------------ NaViT stream
NAVIT_SIZES = [(21, 28), (28, 28), (28, 21), (35, 35)]     # (height, width); index = next() >> 62
NAVIT_PATCH = 7
NAVIT_MAX_TOKENS = 128
NAVIT_MAX_IMAGES = 8
NAVIT_EVAL_SEED = 0x4E61566954          # "NaViT"
NAVIT_GRID = 5                           # positions 0..4 (35 / 7)


def navit_sizes(count, seed):
    rng = SplitMix64(seed)
    return [rng.next() >> 62 for _ in range(count)]


def navit_tokens(size_index):
    h, w = NAVIT_SIZES[size_index]
    return (h // NAVIT_PATCH) * (w // NAVIT_PATCH)


def navit_pack(size_indices):
    """Greedy packing in stream order: a pack takes images while its token count stays
    <= NAVIT_MAX_TOKENS and it holds <= NAVIT_MAX_IMAGES images. Returns lists of stream indices."""
    packs, cur, tokens = [], [], 0
    for i, s in enumerate(size_indices):
        t = navit_tokens(s)
        if cur and (tokens + t > NAVIT_MAX_TOKENS or len(cur) == NAVIT_MAX_IMAGES):
            packs.append(cur)
            cur, tokens = [], 0
        cur.append(i)
        tokens += t
    if cur:
        packs.append(cur)
    return packs


def navit_patches(img, size_index):
    """One normalised 28x28 image (float array) -> (patches [T,49], pos_y [T], pos_x [T]),
    tokens in raster order of the patch grid, each patch's 49 pixels row-major."""
    h, w = NAVIT_SIZES[size_index]
    r = resize_nn(img, h, w)
    gh, gw = h // NAVIT_PATCH, w // NAVIT_PATCH
    p = r.reshape(gh, NAVIT_PATCH, gw, NAVIT_PATCH).transpose(0, 2, 1, 3).reshape(gh * gw, NAVIT_PATCH ** 2)
    ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    return p, ys.reshape(-1), xs.reshape(-1)


def navit_build_pack(images, sizes, members, pad_to=0):
    """Concatenate the images of one pack. Returns patches [S,49] float32, pos_y, pos_x,
    image_ids [S] int64 (image index within the pack, -1 for padding tokens)."""
    ps, ys, xs, ids = [], [], [], []
    for j, i in enumerate(members):
        p, y, x = navit_patches(images[i], sizes[i])
        ps.append(p), ys.append(y), xs.append(x), ids.append(np.full(len(p), j))
    patches = np.concatenate(ps).astype(np.float32)
    pos_y, pos_x, image_ids = (np.concatenate(a).astype(np.int64) for a in (ys, xs, ids))
    if pad_to and len(patches) < pad_to:
        extra = pad_to - len(patches)
        patches = np.concatenate([patches, np.zeros((extra, patches.shape[1]), np.float32)])
        pos_y = np.concatenate([pos_y, np.zeros(extra, np.int64)])
        pos_x = np.concatenate([pos_x, np.zeros(extra, np.int64)])
        image_ids = np.concatenate([image_ids, np.full(extra, -1, np.int64)])
    return patches, pos_y, pos_x, image_ids


# ------------------------------------------------------------------ DETR canvases
CANVAS = 64
DET_MIN_SIZE = 14
DET_SIZE_RANGE = 15          # size = 14 + next() % 15  -> 14..28
DET_MAX_ITEMS = 4
DET_ATTEMPTS = 20
DETR_EVAL_SEED = 0x44455452  # "DETR"
DETR_EVAL_COUNT = 1000


def make_canvas(rng, images, labels):
    """One canvas. Returns (uint8 [64,64], boxes [n,4] float (cx,cy,w,h)/64, classes [n])."""
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    count = 1 + rng.below(DET_MAX_ITEMS)
    placed, classes = [], []
    for _ in range(count):
        for _attempt in range(DET_ATTEMPTS):
            idx = rng.below(len(images))
            s = DET_MIN_SIZE + rng.below(DET_SIZE_RANGE)
            x0 = rng.below(CANVAS - s + 1)
            y0 = rng.below(CANVAS - s + 1)
            if all(x0 + s <= bx or bx + bs <= x0 or y0 + s <= by or by + bs <= y0 for bx, by, bs in placed):
                canvas[y0:y0 + s, x0:x0 + s] = resize_nn(images[idx], s, s)
                placed.append((x0, y0, s))
                classes.append(int(labels[idx]))
                break
    boxes = np.array([[(x + s / 2) / CANVAS, (y + s / 2) / CANVAS, s / CANVAS, s / CANVAS] for x, y, s in placed],
                     np.float32).reshape(-1, 4)
    return canvas, boxes, np.array(classes, np.int64)


def make_canvases(count, seed, images, labels):
    rng = SplitMix64(seed)
    out = [make_canvas(rng, images, labels) for _ in range(count)]
    return np.stack([c for c, _, _ in out]), [b for _, b, _ in out], [c for _, _, c in out]


if __name__ == "__main__":
    r = SplitMix64(0)
    print("SplitMix64(0) first values:", [hex(r.next()) for _ in range(3)])
