"""Write reference-models/data/: the Fashion-MNIST test set (verbatim copies of the
original gzip files) and a deterministic 5,000-image calibration subset of the
training set (the first 500 images of every class, in training-set order).

Usage: python3 reference-models/recipes/make_data.py [--fashion-mnist DIR] [--out DIR]
"""
import argparse
import gzip
import os
import shutil

import numpy as np

import common

LICENSE = """The MIT License (MIT)

Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.

Fashion-MNIST: https://github.com/zalandoresearch/fashion-mnist
The files t10k-*.gz are unmodified copies of the Fashion-MNIST test set; the
files calib-*.gz hold a subset of the Fashion-MNIST training set (the first 500
images of each class in training-set order, 5,000 images in training order).
"""


def write_idx_gz(path, array):
    """Write a uint8 array as IDX (magic 0x0000080N, big-endian dims), gzip with mtime 0."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim])
    for dim in array.shape:
        header += int(dim).to_bytes(4, "big")
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(header)
            gz.write(array.tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fashion-mnist", default=common.default_fmnist_dir())
    parser.add_argument("--out", default=os.path.join(common.REF_DIR, "data"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(os.path.join(args.fashion_mnist, name), os.path.join(args.out, name))
    images = common.read_idx_gz(os.path.join(args.fashion_mnist, "train-images-idx3-ubyte.gz"))
    labels = common.read_idx_gz(os.path.join(args.fashion_mnist, "train-labels-idx1-ubyte.gz"))
    keep = []
    counts = [0] * 10
    for i, y in enumerate(labels):
        if counts[y] < 500:
            counts[y] += 1
            keep.append(i)
    assert len(keep) == 5000
    keep = np.array(keep)
    write_idx_gz(os.path.join(args.out, "calib-images-idx3-ubyte.gz"), images[keep])
    write_idx_gz(os.path.join(args.out, "calib-labels-idx1-ubyte.gz"), labels[keep])
    with open(os.path.join(args.out, "LICENSE-fashion-mnist.txt"), "w") as f:
        f.write(LICENSE)
    print("wrote", args.out, "calibration indices", keep[:5], "...", keep[-5:])


if __name__ == "__main__":
    main()
