#!/usr/bin/env python3
"""Draws random convolution and pooling configurations, runs them through PyTorch in float64 and writes one
safetensors file per op family, for Loom's tests to replay (tests/Loom.Tests/Reference/).

    /usr/bin/python3 tests/reference/generate.py --seed 1 --out tests/reference/data

Needs only torch (Debian's python3-torch) and the standard library: the safetensors files are written here with
struct and json. Inputs, weights and the upstream gradient are drawn in float32 and widened, so the float64 results
are exact for the stored (float32) inputs; results are stored as float32 (F32), max-pool indices as int64 (I64).

Keys per case:   caseNNNN.x, .weight, .bias (if any), .y, .grad_y (a random upstream gradient ∂ℓ/∂y),
                 .grad_x, .grad_weight, .grad_bias, .indices (max pools)
__metadata__:    "family", "seed", "torch", "count", and "caseNNNN" → the case's configuration as JSON.
"""
import argparse
import json
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import torch_spec  # noqa: E402

def randn(*shape):
    """float32 normal values widened to float64 (exactly representable in the stored float32 file)."""
    return torch.randn(*shape, dtype=torch.float32).double()


def input_size(rng, span, stride, pad_total, max_out=4):
    """An input length whose padded size holds the dilated kernel span and gives 1..max_out windows."""
    out = rng.randint(1, max_out)
    return max(1, span + stride * (out - 1) + rng.randint(0, stride - 1) - pad_total)


def grads(y, inputs):
    grad_y = randn(*y.shape)
    return grad_y, torch.autograd.grad(y, inputs, grad_y)


def conv_common(rng, spatial):
    groups = rng.choice([1, 1, 1, 2, 3])
    cg = rng.randint(1, max(1, 6 // groups))
    fg = rng.randint(1, max(1, 6 // groups))
    cfg = {
        "batch": rng.randint(1, 3),
        "in_channels": cg * groups,
        "out_channels": fg * groups,
        "groups": groups,
        "kernel": [rng.randint(1, 5) for _ in range(spatial)],
        "stride": [rng.randint(1, 3) for _ in range(spatial)],
        "dilation": [rng.randint(1, 3) for _ in range(spatial)],
        "padding": [rng.randint(0, 2) for _ in range(2 * spatial)],  # (top, bottom,) left, right
        "bias": rng.random() < 0.7,
    }
    if rng.random() < 0.25:  # symmetric padding runs through PyTorch's own padding argument
        cfg["padding"] = [cfg["padding"][2 * (i // 2)] for i in range(2 * spatial)]
    return cfg


def conv_case(rng, spatial):
    cfg = conv_common(rng, spatial)
    k, s, d, p = cfg["kernel"], cfg["stride"], cfg["dilation"], cfg["padding"]
    sizes = [input_size(rng, d[a] * (k[a] - 1) + 1, s[a], p[2 * a] + p[2 * a + 1]) for a in range(spatial)]
    x = randn(cfg["batch"], cfg["in_channels"], *sizes).requires_grad_()
    w = randn(cfg["out_channels"], cfg["in_channels"] // cfg["groups"], *k).requires_grad_()
    b = randn(cfg["out_channels"]).requires_grad_() if cfg["bias"] else None
    conv = F.conv1d if spatial == 1 else F.conv2d
    symmetric = all(p[2 * a] == p[2 * a + 1] for a in range(spatial))
    if symmetric:
        y = conv(x, w, b, stride=s, padding=[p[2 * a] for a in range(spatial)], dilation=d, groups=cfg["groups"])
    else:
        # F.pad lists (before, after) from the last axis: (left, right, top, bottom).
        pad = (p[0], p[1]) if spatial == 1 else (p[2], p[3], p[0], p[1])
        y = conv(F.pad(x, pad), w, b, stride=s, padding=0, dilation=d, groups=cfg["groups"])
    inputs = [x, w] + ([b] if b is not None else [])
    grad_y, g = grads(y, inputs)
    out = {"x": x, "weight": w, "y": y, "grad_y": grad_y, "grad_x": g[0], "grad_weight": g[1]}
    if b is not None:
        out.update(bias=b, grad_bias=g[2])
    return cfg, out


def conv_transpose2d_case(rng):
    cfg = conv_common(rng, 2)
    k, s, d, p = cfg["kernel"], cfg["stride"], cfg["dilation"], cfg["padding"]
    cfg["output_padding"] = [rng.randint(0, max(s[a], d[a]) - 1) for a in range(2)]
    op = cfg["output_padding"]
    sizes = [rng.randint(1, 4) for _ in range(2)]
    for a in range(2):
        full = (sizes[a] - 1) * s[a] + d[a] * (k[a] - 1) + op[a] + 1
        if full - p[2 * a] - p[2 * a + 1] < 1:
            return None
    # in_channels is the first axis of the weight; out_channels = weight.shape[1] · groups.
    x = randn(cfg["batch"], cfg["in_channels"], *sizes).requires_grad_()
    w = randn(cfg["in_channels"], cfg["out_channels"] // cfg["groups"], *k).requires_grad_()
    b = randn(cfg["out_channels"]).requires_grad_() if cfg["bias"] else None
    if p[0] == p[1] and p[2] == p[3]:
        y = F.conv_transpose2d(x, w, b, stride=s, padding=[p[0], p[2]], output_padding=op, groups=cfg["groups"], dilation=d)
    else:
        # Per-side padding crops the full (padding 0) output: top, bottom, left, right.
        full = F.conv_transpose2d(x, w, b, stride=s, padding=0, output_padding=op, groups=cfg["groups"], dilation=d)
        y = full[:, :, p[0]:full.shape[2] - p[1], p[2]:full.shape[3] - p[3]]
    inputs = [x, w] + ([b] if b is not None else [])
    grad_y, g = grads(y, inputs)
    out = {"x": x, "weight": w, "y": y, "grad_y": grad_y, "grad_x": g[0], "grad_weight": g[1]}
    if b is not None:
        out.update(bias=b, grad_bias=g[2])
    return cfg, out


def pool_config(rng, spatial, kind):
    k = [rng.randint(1, 4) for _ in range(spatial)]
    cfg = {
        "batch": rng.randint(1, 3),
        "channels": rng.randint(1, 4),
        "kernel": k,
        "stride": None if rng.random() < 0.3 else [rng.randint(1, 3) for _ in range(spatial)],
        "padding": [rng.randint(0, k[a] // 2) for a in range(spatial)],
        "ceil_mode": rng.random() < 0.5,
    }
    if kind == "max":
        cfg["dilation"] = [rng.randint(1, 3) for _ in range(spatial)]
    else:
        cfg["dilation"] = [1] * spatial
        cfg["count_include_pad"] = rng.random() < 0.5
        if spatial == 2 and rng.random() < 0.2:
            cfg["divisor_override"] = rng.randint(1, 5)
    return cfg


def pool_case(rng, spatial, kind):
    cfg = pool_config(rng, spatial, kind)
    k, p, d = cfg["kernel"], cfg["padding"], cfg["dilation"]
    s = cfg["stride"] or k
    sizes = [input_size(rng, d[a] * (k[a] - 1) + 1, s[a], 2 * p[a], max_out=5) for a in range(spatial)]
    x = randn(cfg["batch"], cfg["channels"], *sizes).requires_grad_()
    stride = cfg["stride"]
    out = {"x": x}
    try:
        if kind == "max":
            pool = F.max_pool1d if spatial == 1 else F.max_pool2d
            y, idx = pool(x, k, stride, p, d, ceil_mode=cfg["ceil_mode"], return_indices=True)
            out["indices"] = idx
        elif spatial == 1:
            y = F.avg_pool1d(x, k, stride, p, ceil_mode=cfg["ceil_mode"], count_include_pad=cfg["count_include_pad"])
        else:
            y = F.avg_pool2d(x, k, stride, p, ceil_mode=cfg["ceil_mode"], count_include_pad=cfg["count_include_pad"],
                             divisor_override=cfg.get("divisor_override"))
    except RuntimeError:
        return None
    if not torch.isfinite(y).all():
        return None  # a window holding only padding (dilated max pool): PyTorch's index is meaningless there
    grad_y, g = grads(y, [x])
    out.update(y=y, grad_y=grad_y, grad_x=g[0])
    return cfg, out


def adaptive_case(rng):
    h, w = rng.randint(1, 9), rng.randint(1, 9)
    cfg = {"batch": rng.randint(1, 3), "channels": rng.randint(1, 4), "output_size": [rng.randint(1, h + 2), rng.randint(1, w + 2)]}
    x = randn(cfg["batch"], cfg["channels"], h, w).requires_grad_()
    y = F.adaptive_avg_pool2d(x, cfg["output_size"])
    grad_y, g = grads(y, [x])
    return cfg, {"x": x, "y": y, "grad_y": grad_y, "grad_x": g[0]}


FAMILIES = [
    ("conv2d", 110, lambda rng: conv_case(rng, 2)),
    ("conv1d", 40, lambda rng: conv_case(rng, 1)),
    ("conv_transpose2d", 45, conv_transpose2d_case),
    ("max_pool2d", 30, lambda rng: pool_case(rng, 2, "max")),
    ("max_pool1d", 20, lambda rng: pool_case(rng, 1, "max")),
    ("avg_pool2d", 40, lambda rng: pool_case(rng, 2, "avg")),
    ("avg_pool1d", 30, lambda rng: pool_case(rng, 1, "avg")),
    ("adaptive_avg_pool2d", 15, adaptive_case),
]


def stored(t):
    t = t.detach()
    return t if t.dtype == torch.int64 else t.float()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True, help="output folder (created)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    total = 0
    for index, (family, count, make) in enumerate(FAMILIES):
        rng = random.Random(args.seed * 1000 + index)
        torch.manual_seed(args.seed * 1000 + index)
        tensors = {}
        metadata = {"family": family, "seed": str(args.seed), "torch": torch.__version__, "count": str(count)}
        case = 0
        while case < count:
            drawn = make(rng)
            if drawn is None:
                continue
            cfg, values = drawn
            name = "case%04d" % case
            metadata[name] = json.dumps(cfg, separators=(",", ":"))
            for key, value in values.items():
                tensors["%s.%s" % (name, key)] = stored(value)
            case += 1
        torch_spec.save_safetensors(os.path.join(args.out, family + ".safetensors"), tensors, metadata)
        total += count
    print("wrote %d cases (seed %d, torch %s) to %s" % (total, args.seed, torch.__version__, args.out))


if __name__ == "__main__":
    sys.exit(main())
