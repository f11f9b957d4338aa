#!/usr/bin/env python3
"""Draws random module configurations as Loom model specs, runs them through PyTorch in float64 and writes one
safetensors file per module family, for Loom's tests to replay (tests/Loom.Tests/Nn/ModuleReferenceTests.cs).

    /usr/bin/python3 tests/reference/modules_reference.py --seed 1 --out tests/reference/data/modules

Every case is a spec string plus an input shape: the PyTorch model is built by tools/torch_spec.py, Loom's by
ModelBuilder.Build from the same spec, and the state dict (PyTorch's keys) moves from one to the other, so the
tests check the layers, the builder and the key names at once. Needs only torch and the standard library.

A case: build the model (float32, PyTorch's default initialisation; batch-norm affine parameters, running
statistics and num_batches_tracked are randomised so they are not trivially 1/0), record its state dict, widen it
to float64, run `warmup` forward passes in train mode on recorded inputs (they move the batch-norm running
statistics), switch to the case's mode (train or eval), run the input forward, back-propagate a random ∂ℓ/∂y,
record the output, ∂ℓ/∂x, every parameter's gradient and every buffer after the step. Inputs, state and ∂ℓ/∂y are
float32 values (exact in float64); results are stored rounded to float32.

A case whose float32 PyTorch run disagrees with its float64 run by more than 2e-5·(1 + |ref|) is drawn again (a
near tie in a max pool or a ReLU input within rounding of 0 makes float32 and float64 take different branches; no
float32 implementation could match it); `__metadata__["redrawn"]` counts them.

Keys per case:   caseNNNN.state.<key>      the state dict before the case (num_batches_tracked as I64)
                 caseNNNN.warmup.<i>       warm-up inputs, run in train mode before the step
                 caseNNNN.x, .y, .grad_y, .grad_x
                 caseNNNN.grad.<param>     every parameter's gradient
                 caseNNNN.after.<buffer>   every buffer after the step (running stats, num_batches_tracked)
__metadata__:    "family", "seed", "torch", "count", "redrawn" and "caseNNNN" → {"spec", "input", "batch", "mode",
                 "warmup"} as JSON.
"""
import argparse
import json
import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import warnings  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import torch_spec  # noqa: E402

CHECK32 = 2e-5
warnings.filterwarnings("ignore", message="Using padding=.same.")


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def pick(rng, *values):
    return rng.choice(values)


def axis_size(rng, kernel, stride, dilation, pad_total, max_out=3):
    span = dilation * (kernel - 1) + 1
    return max(1, span + stride * (rng.randint(1, max_out) - 1) + rng.randint(0, stride - 1) - pad_total)


# ---------------------------------------------------------------- families: each returns a case description

def case(spec, shape, batch, mode="train", warmup=0):
    return {"spec": spec, "input": list(shape), "batch": batch, "mode": mode, "warmup": warmup}


def linear(rng):
    f, n = rng.randint(1, 12), rng.randint(1, 10)
    shape = (f,) if rng.random() < 0.7 else (rng.randint(1, 3), f)
    return case("linear(%d%s)" % (n, ",bias=false" if rng.random() < 0.3 else ""), shape, rng.randint(1, 4))


def conv_args(rng, spatial):
    g = pick(rng, 1, 1, 1, 2, 3)
    c, f = rng.randint(1, 4 // g + 1) * g, rng.randint(1, 4 // g + 1) * g
    k = [rng.randint(1, 4) for _ in range(spatial)]
    s = [rng.randint(1, 3) for _ in range(spatial)]
    d = [rng.randint(1, 2) for _ in range(spatial)]
    form = rng.choice(["none", "one", "axis", "sides", "sides", "same"])
    if form == "same":
        s = [1] * spatial
    if form == "none":
        pad, text = [(0, 0)] * spatial, None
    elif form == "one":
        p = rng.randint(0, 2)
        pad, text = [(p, p)] * spatial, str(p)
    elif form == "axis" and spatial == 2:
        p = [rng.randint(0, 2) for _ in range(2)]
        pad, text = [(p[0], p[0]), (p[1], p[1])], "%dx%d" % tuple(p)
    elif form == "same":
        pad, text = [(0, d[a] * (k[a] - 1)) for a in range(spatial)], "same"
    else:
        v = [rng.randint(0, 2) for _ in range(2 * spatial)]
        pad, text = [(v[2 * a], v[2 * a + 1]) for a in range(spatial)], "[%s]" % ",".join(map(str, v))
    join = "x".join
    args = ["%d" % f, join(map(str, k))]
    if any(v != 1 for v in s) or rng.random() < 0.2:
        args.append("s=" + join(map(str, s)))
    if text is not None:
        args.append("p=" + text)
    if any(v != 1 for v in d):
        args.append("d=" + join(map(str, d)))
    if g != 1:
        args.append("g=%d" % g)
    if rng.random() < 0.3:
        args.append("bias=false")
    sizes = [axis_size(rng, k[a], s[a], d[a], pad[a][0] + pad[a][1]) for a in range(spatial)]
    return "conv(%s)" % ",".join(args), (c,) + tuple(sizes)


def conv2d(rng):
    spec, shape = conv_args(rng, 2)
    return case(spec, shape, rng.randint(1, 3))


def conv1d(rng):
    spec, shape = conv_args(rng, 1)
    return case(spec, shape, rng.randint(1, 3))


def conv_transpose2d(rng):
    g = pick(rng, 1, 1, 2)
    c, f = rng.randint(1, 3) * g, rng.randint(1, 3) * g
    k = [rng.randint(1, 4) for _ in range(2)]
    s = [rng.randint(1, 3) for _ in range(2)]
    d = [rng.randint(1, 2) for _ in range(2)]
    op = [rng.randint(0, max(s[a], d[a]) - 1) for a in range(2)]
    p = [rng.randint(0, 2) for _ in range(2)]
    sizes = [rng.randint(1, 4) for _ in range(2)]
    for a in range(2):
        if (sizes[a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1 < 1:
            return None
    spec = "convt(%d,%dx%d,s=%dx%d,p=%dx%d,op=%dx%d,d=%dx%d%s%s)" % (
        f, k[0], k[1], s[0], s[1], p[0], p[1], op[0], op[1], d[0], d[1],
        ",g=%d" % g if g != 1 else "", ",bias=false" if rng.random() < 0.3 else "")
    return case(spec, (c,) + tuple(sizes), rng.randint(1, 3))


def pool(rng):
    kind = rng.choice(["max2", "max2", "avg2", "avg2", "max1", "avg1", "gap", "adaptive"])
    c, batch = rng.randint(1, 3), rng.randint(1, 3)
    if kind == "gap":
        return case("gap", (c, rng.randint(1, 5), rng.randint(1, 5)), batch)
    if kind == "adaptive":
        h, w = rng.randint(1, 7), rng.randint(1, 7)
        return case("adaptiveavgpool(%dx%d)" % (rng.randint(1, h + 1), rng.randint(1, w + 1)), (c, h, w), batch)
    spatial = 2 if kind.endswith("2") else 1
    k = [rng.randint(1, 4) for _ in range(spatial)]
    s = [rng.randint(1, 3) for _ in range(spatial)] if rng.random() < 0.7 else None
    p = [rng.randint(0, k[a] // 2) for a in range(spatial)]
    d = [rng.randint(1, 2) for _ in range(spatial)] if kind.startswith("max") else [1] * spatial
    join = "x".join
    args = [join(map(str, k))]
    if s is not None:
        args.append("s=" + join(map(str, s)))
    if any(p):
        args.append("p=" + join(map(str, p)))
    if any(v != 1 for v in d):
        args.append("d=" + join(map(str, d)))
    if rng.random() < 0.4:
        args.append("ceil=true")
    if kind.startswith("avg") and rng.random() < 0.4:
        args.append("include_pad=false")
    stride = s or k
    sizes = [axis_size(rng, k[a], stride[a], d[a], 2 * p[a], 4) for a in range(spatial)]
    ceil = "ceil=true" in args
    if ceil and rng.random() < 0.3:
        # An input shorter than the kernel: PyTorch's ceil mode still gives one window when it overhangs by < stride.
        sizes = [max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a] - rng.randint(0, stride[a] - 1)) for a in range(spatial)]
    if kind.startswith("max") and not all(windows_touch_input(sizes[a], k[a], stride[a], p[a], d[a], ceil) for a in range(spatial)):
        return None  # PyTorch 1.13 returns -inf and an out-of-range index there; its backward writes out of bounds
    return case("%s(%s)" % ("maxpool" if kind.startswith("max") else "avgpool", ",".join(args)), (c,) + tuple(sizes), batch)


def windows_touch_input(size, k, s, p, d, ceil):
    """Whether every pooling window along an axis holds at least one input element (not only padding)."""
    numerator = size + 2 * p - d * (k - 1) - 1
    out = (numerator + (s - 1 if ceil else 0)) // s + 1  # PyTorch's pooling_output_shape (floor division)
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out >= 1 and all(any(0 <= o * s - p + j * d < size for j in range(k)) for o in range(out))


def bn_spec(rng):
    args = []
    if rng.random() < 0.6:
        args.append("eps=%s" % pick(rng, "1e-05", "0.001", "0.1"))
    if rng.random() < 0.6:
        args.append("momentum=%s" % pick(rng, "0.1", "0.3", "0.9"))
    return "bn(%s)" % ",".join(args) if args else "bn"


def bn_mode(rng):
    mode = pick(rng, "train", "eval")
    return mode, rng.randint(0 if mode == "train" else 1, 3)


def batchnorm2d(rng):
    mode, warmup = bn_mode(rng)
    return case(bn_spec(rng), (rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 4)), rng.randint(2, 4), mode, warmup)


def batchnorm1d(rng):
    mode, warmup = bn_mode(rng)
    shape = (rng.randint(1, 6),) if rng.random() < 0.5 else (rng.randint(1, 4), rng.randint(1, 5))
    return case(bn_spec(rng), shape, rng.randint(2, 5), mode, warmup)


def elementwise(rng):
    spec = rng.choice(["relu", "leakyrelu(0.2)", "leakyrelu", "gelu", "tanh", "sigmoid", "softmax", "dropout(0.3)",
                       "dropout", "flatten", "relu tanh", "gelu softmax"])
    shape = tuple(rng.randint(1, 4) for _ in range(rng.randint(1, 3)))
    return case(spec, shape, rng.randint(1, 3), "eval" if "dropout" in spec else pick(rng, "train", "eval"))


def residual(rng):
    mode, warmup = bn_mode(rng)
    if rng.random() < 0.3:
        f = rng.randint(1, 6)
        spec = "res(linear(%d) %s linear(%d))" % (rng.randint(1, 6), pick(rng, "relu", "tanh", "bn relu"), f)
        return case(spec, (f,), rng.randint(2, 4), mode, warmup)
    c = rng.randint(1, 4)
    k = pick(rng, 1, 3)
    p = "same" if k == 3 and rng.random() < 0.3 else str(k // 2)
    bn = " bn" if rng.random() < 0.7 else ""
    spec = "res(conv(%d,%d,p=%s)%s %s conv(%d,%d,p=%s)%s)" % (c, k, p, bn, pick(rng, "relu", "gelu"), c, k, p, bn)
    return case(spec, (c, rng.randint(2, 5), rng.randint(2, 5)), rng.randint(2, 3), mode, warmup)


def basic_block(rng):
    mode, warmup = bn_mode(rng)
    c = rng.randint(1, 4)
    f = c if rng.random() < 0.4 else rng.randint(1, 4)
    s = pick(rng, 1, 1, 2)
    spec = "basic(%d%s)" % (f, ",s=%d" % s if s != 1 or rng.random() < 0.3 else "")
    return case(spec, (c, rng.randint(2, 5), rng.randint(2, 5)), rng.randint(2, 3), mode, warmup)


def sequential(rng):
    mode = pick(rng, "train", "eval")
    warmup = rng.randint(0, 2)
    act = lambda: pick(rng, "relu", "relu", "tanh", "leakyrelu(0.1)", "gelu", "sigmoid")  # noqa: E731
    layers = []
    kind = pick(rng, "cnn", "cnn", "cnn1d", "mlp")
    if kind == "mlp":
        shape = (rng.randint(1, 3), rng.randint(2, 4), rng.randint(2, 4))
        layers += ["flatten", "linear(%d)" % rng.randint(2, 8)]
        if rng.random() < 0.5:
            layers.append("bn")
        layers.append(act())
    else:
        shape = (rng.randint(1, 3), rng.randint(4, 7)) if kind == "cnn1d" else (rng.randint(1, 3), rng.randint(4, 7), rng.randint(4, 7))
        for _ in range(rng.randint(1, 2)):
            layers.append("conv(%d,%d,p=%s)" % (rng.randint(1, 4), pick(rng, 1, 2, 3), pick(rng, "0", "1", "[1,0]" if kind == "cnn1d" else "[0,1,1,0]")))
            if rng.random() < 0.5:
                layers.append("bn")
            layers.append(act())
            if rng.random() < 0.4:
                layers.append(pick(rng, "maxpool(2)", "avgpool(2)", "maxpool(2,ceil=true)"))
        if kind == "cnn" and rng.random() < 0.3:
            layers.append(pick(rng, "basic(3)", "basic(4,s=2)", "res(conv(4,3,p=1) bn relu)"))
        layers.append(pick(rng, "flatten", "gap flatten") if kind == "cnn" else "flatten")
    if mode == "eval" and rng.random() < 0.5:
        layers.append("dropout(0.5)")
    layers.append("linear(%d)" % rng.randint(2, 5))
    if rng.random() < 0.3:
        layers.append("softmax")
    return case(" ".join(layers), shape, rng.randint(2, 4), mode, warmup)


FAMILIES = [
    ("linear", 20, linear),
    ("conv2d", 32, conv2d),
    ("conv1d", 18, conv1d),
    ("conv_transpose2d", 18, conv_transpose2d),
    ("pool", 36, pool),
    ("batchnorm2d", 24, batchnorm2d),
    ("batchnorm1d", 24, batchnorm1d),
    ("elementwise", 16, elementwise),
    ("residual", 18, residual),
    ("basic_block", 18, basic_block),
    ("sequential", 30, sequential),
]


# ---------------------------------------------------------------- running a case

def randomise_batchnorm(model, rng):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5))
                m.bias.copy_(torch.randn_like(m.bias) * 0.3)
                m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.5)
                m.running_var.copy_(torch.empty_like(m.running_var).uniform_(0.5, 2.0))
                m.num_batches_tracked.fill_(rng.randint(0, 5))


def run(cfg, state, warm, x, grad_y, dtype):
    model = torch_spec.build(cfg["spec"], cfg["input"])
    model.load_state_dict(state, strict=True)
    model.to(dtype)
    model.train()
    with torch.no_grad():
        for w in warm:
            model(w.to(dtype))
    model.train(cfg["mode"] == "train")
    xx = x.to(dtype).requires_grad_()
    y = model(xx)
    y.backward(grad_y.to(dtype))
    out = {"y": y.detach(), "grad_x": xx.grad}
    for name, p in model.named_parameters():
        if p.grad is not None:
            out["grad." + name] = p.grad
    for name, b in model.named_buffers():
        out["after." + name] = b.detach()
    return out


def agrees(ref, other):
    for key, r in ref.items():
        if not r.is_floating_point():
            if not torch.equal(r, other[key]):
                return False
            continue
        if not torch.all((other[key].double() - r).abs() <= CHECK32 * (1 + r.abs())):
            return False
    return True


def draw(rng, make):
    cfg = make(rng)
    if cfg is None:
        return None
    try:
        model = torch_spec.build(cfg["spec"], cfg["input"])
    except (RuntimeError, ValueError):
        return None  # the shapes do not chain (e.g. a kernel larger than the padded input)
    randomise_batchnorm(model, rng)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    shape = tuple(cfg["input"])
    warm = [randn(rng.randint(2, 4), *shape) for _ in range(cfg["warmup"])]
    x = randn(cfg["batch"], *shape)
    try:
        with torch.no_grad():
            y_shape = model.train(cfg["mode"] == "train")(x).shape
    except (RuntimeError, ValueError):
        return None
    grad_y = randn(*y_shape)
    try:
        ref = run(cfg, state, warm, x, grad_y, torch.float64)
    except RuntimeError:
        return None  # shapes PyTorch's no-grad path accepted but autograd's rejects
    if not all(torch.isfinite(v).all() for v in ref.values() if v.is_floating_point()):
        return None  # a max-pool window holding only padding
    check = run(cfg, state, warm, x, grad_y, torch.float32)
    values = {"x": x, "grad_y": grad_y}
    values.update(("state." + k, v) for k, v in state.items())
    values.update(("warmup.%d" % i, w) for i, w in enumerate(warm))
    values.update((k, v if v.dtype == torch.int64 else v.float()) for k, v in ref.items())
    return cfg, values, agrees(ref, check)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True, help="output folder (created)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    total = 0
    for index, (family, count, make) in enumerate(FAMILIES):
        rng = random.Random(args.seed * 1000 + index)
        torch.manual_seed(args.seed * 1000 + index)
        tensors, metadata = {}, {"family": family, "seed": str(args.seed), "torch": torch.__version__, "count": str(count)}
        case_index, redrawn, attempts = 0, 0, 0
        while case_index < count:
            attempts += 1
            if attempts > 50 * count:
                sys.exit("%s: too few valid configurations drawn" % family)
            drawn = draw(rng, make)
            if drawn is None:
                continue
            cfg, values, ok = drawn
            if not ok:
                redrawn += 1
                continue
            name = "case%04d" % case_index
            metadata[name] = json.dumps(cfg, separators=(",", ":"))
            tensors.update(("%s.%s" % (name, k), v.detach().contiguous()) for k, v in values.items())
            case_index += 1
        metadata["redrawn"] = str(redrawn)
        torch_spec.save_safetensors(os.path.join(args.out, family + ".safetensors"), tensors, metadata)
        total += count
    print("wrote %d module cases (seed %d, torch %s) to %s" % (total, args.seed, torch.__version__, args.out))


if __name__ == "__main__":
    sys.exit(main())
