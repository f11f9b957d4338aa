#!/usr/bin/env python3
"""Draws random recurrent configurations, runs them through PyTorch in float64 and writes safetensors files for
Loom's tests to replay (tests/Loom.Tests/Nn/Recurrent/RecurrentReferenceTests.cs).

    /usr/bin/python3 tests/reference/rnn_reference.py --seed 1 --out tests/reference/data/rnn

Needs only torch (Debian's python3-torch) and the standard library: safetensors are written here with struct and
json. Inputs, weights and upstream gradients are drawn in float32 and widened, so the float64 results are exact for
the stored float32 values; results are stored as float32.

rnn.safetensors    nn.RNN (tanh, relu), nn.LSTM, nn.GRU: layers 1-2, uni- or bidirectional, batch_first or not, with
                   or without biases, initial states and variable lengths (pack_padded_sequence with
                   enforce_sorted=False, then pad_packed_sequence with total_length=T).
gated.safetensors  The seed's gated RNN and AttentionRNN(k) (k = 1, 2, 3, inf) written directly from the equations
                   with torch autograd.

Keys per case:  caseNNNN.x, .h0, .c0 (if any), .lengths (I32, if variable), .<parameter name> (PyTorch's names),
                .output, .h_n, .c_n, .grad_output, .grad_h_n, .grad_c_n (random upstream gradients),
                .grad_x, .grad_h0, .grad_c0, .grad.<parameter name>
__metadata__:   "family", "seed", "torch", "count", and "caseNNNN" -> the case's configuration as JSON.
"""
import argparse
import json
import os
import random
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import torch_spec  # noqa: E402  (one safetensors writer for all generators)
from generate import randn  # noqa: E402


def f32(t):
    return t.detach().float()


# ── nn.RNN / nn.LSTM / nn.GRU ────────────────────────────────────────────────────────────────────────────────────

def draw_layer_config(rng):
    return {
        "mode": rng.choice(["rnn_tanh", "rnn_relu", "lstm", "gru"]),
        "input_size": rng.randint(1, 4),
        "hidden_size": rng.randint(1, 4),
        "num_layers": rng.randint(1, 2),
        "bidirectional": rng.random() < 0.5,
        "batch_first": rng.random() < 0.5,
        "bias": rng.random() < 0.85,
        "steps": rng.randint(1, 5),
        "batch": rng.randint(1, 3),
        "variable_length": rng.random() < 0.5,
        "initial_state": rng.random() < 0.5,
    }


def build_layer(cfg):
    common = dict(input_size=cfg["input_size"], hidden_size=cfg["hidden_size"], num_layers=cfg["num_layers"],
                  bias=cfg["bias"], batch_first=cfg["batch_first"], bidirectional=cfg["bidirectional"])
    mode = cfg["mode"]
    if mode == "lstm":
        module = torch.nn.LSTM(**common)
    elif mode == "gru":
        module = torch.nn.GRU(**common)
    else:
        module = torch.nn.RNN(nonlinearity="relu" if mode == "rnn_relu" else "tanh", **common)
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.float().double())  # PyTorch's own U(-1/sqrt(H), 1/sqrt(H)), rounded to float32
    return module


def layer_case(rng, cfg):
    module = build_layer(cfg)
    t, n, h = cfg["steps"], cfg["batch"], cfg["hidden_size"]
    states = cfg["num_layers"] * (2 if cfg["bidirectional"] else 1)
    x = randn(*((n, t, cfg["input_size"]) if cfg["batch_first"] else (t, n, cfg["input_size"]))).requires_grad_()
    lstm = cfg["mode"] == "lstm"
    h0 = randn(states, n, h).requires_grad_() if cfg["initial_state"] else None
    c0 = randn(states, n, h).requires_grad_() if cfg["initial_state"] and lstm else None
    lengths = [rng.randint(1, t) for _ in range(n)] if cfg["variable_length"] else None
    hx = None if h0 is None else ((h0, c0) if lstm else h0)

    if lengths is None:
        output, state = module(x, hx)
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=cfg["batch_first"], enforce_sorted=False)
        packed_out, state = module(packed, hx)
        output, _ = pad_packed_sequence(packed_out, batch_first=cfg["batch_first"], total_length=t)
    h_n, c_n = state if lstm else (state, None)

    outs = [output, h_n] + ([c_n] if lstm else [])
    upstream = [randn(*o.shape) for o in outs]
    inputs = [("x", x)] + [(name, v) for name, v in (("h0", h0), ("c0", c0)) if v is not None]
    params = list(module.named_parameters())
    wrt = [v for _, v in inputs] + [p for _, p in params]
    grads = torch.autograd.grad(outs, wrt, upstream, allow_unused=True)

    record = {"output": f32(output), "h_n": f32(h_n), "grad_output": f32(upstream[0]), "grad_h_n": f32(upstream[1])}
    if lstm:
        record["c_n"] = f32(c_n)
        record["grad_c_n"] = f32(upstream[2])
    if lengths is not None:
        record["lengths"] = torch.tensor(lengths, dtype=torch.int32)
    for (name, v), g in zip(inputs + params, grads):
        record[name] = f32(v)
        record[("grad." if "." not in name and name.startswith(("weight", "bias")) else "grad_") + name] = \
            f32(g) if g is not None else torch.zeros_like(f32(v))
    return record


# ── The seed's gated RNN and AttentionRNN(k), straight from the equations ─────────────────────────────────────────

def uniform(rows, cols, hidden):
    bound = 1 / hidden ** 0.5
    return ((torch.rand(rows, cols, dtype=torch.float32) * 2 - 1) * bound).double()


def gated_step(x, h, w):
    c = torch.sigmoid(x @ w["weight_c"].T + h @ w["weight_h"].T)
    return c * h + (1 - c) * (x @ w["weight_x"].T)


def attention_step(x, h, past, w, k):
    """past = [h[t-2], h[t-3], ...]; sources x[t], h[t-1], past; k = None for infinity."""
    sources = [x, h] + list(past)
    if k is not None:
        sources = sources[:k + 1]
        while len(sources) < k + 1:
            sources.append(torch.zeros_like(h))
    scores, values = [], []
    for i, s in enumerate(sources):
        j = i if k is not None else min(i, 1)
        q = s @ w["weight_q%d" % j].T
        kk = s @ w["weight_k%d" % j].T
        scores.append((q * kk).sum(1, keepdim=True))
        values.append(s @ w["weight_v%d" % j].T)
    a = torch.softmax(torch.cat(scores, 1), 1)
    return (a.unsqueeze(2) * torch.stack(values, 1)).sum(1)


def sequence_case(rng, cfg):
    t, n, h, i = cfg["steps"], cfg["batch"], cfg["hidden_size"], cfg["input_size"]
    model = cfg["model"]
    if model == "gated_rnn":
        w = {"weight_c": uniform(h, i, h), "weight_h": uniform(h, h, h), "weight_x": uniform(h, i, h)}
        k = None
    else:
        k = None if cfg["k"] == "inf" else cfg["k"]
        w = {}
        for j in range(0, (1 if k is None else k) + 1):
            for name in ("q", "k", "v"):
                w["weight_%s%d" % (name, j)] = uniform(h, i if j == 0 else h, h)
    for v in w.values():
        v.requires_grad_()
    x = randn(*((n, t, i) if cfg["batch_first"] else (t, n, i))).requires_grad_()
    h0 = randn(1, n, h).requires_grad_() if cfg["initial_state"] else None
    lengths = [rng.randint(1, t) for _ in range(n)] if cfg["variable_length"] else None

    state = h0[0] if h0 is not None else torch.zeros(n, h, dtype=torch.float64)
    past = [] if k is None else [torch.zeros(n, h, dtype=torch.float64)] * (k - 1)
    outs = []
    for step in range(t):
        xt = x[:, step] if cfg["batch_first"] else x[step]
        if model == "gated_rnn":
            new = gated_step(xt, state, w)
        else:
            new = attention_step(xt, state, past, w, k)
            past = [state] + past
            if k is not None:
                past = past[:max(k - 1, 0)]
        if lengths is None:
            outs.append(new)
            state = new
        else:
            m = torch.tensor([[1.0 if step < length else 0.0] for length in lengths], dtype=torch.float64)
            outs.append(m * new)
            state = m * new + (1 - m) * state
    output = torch.stack(outs, 1 if cfg["batch_first"] else 0)
    h_n = state.unsqueeze(0)

    upstream = [randn(*output.shape), randn(*h_n.shape)]
    names = ["x"] + (["h0"] if h0 is not None else [])
    wrt = [x] + ([h0] if h0 is not None else []) + list(w.values())
    grads = torch.autograd.grad([output, h_n], wrt, upstream)
    record = {"output": f32(output), "h_n": f32(h_n), "grad_output": f32(upstream[0]), "grad_h_n": f32(upstream[1])}
    if lengths is not None:
        record["lengths"] = torch.tensor(lengths, dtype=torch.int32)
    for name, v, g in zip(names, wrt, grads):
        record[name] = f32(v)
        record["grad_" + name] = f32(g)
    for (name, v), g in zip(w.items(), grads[len(names):]):
        record[name] = f32(v)
        record["grad." + name] = f32(g)
    return record


def draw_sequence_config(rng, model, k=None):
    cfg = {
        "model": model,
        "input_size": rng.randint(1, 4),
        "hidden_size": rng.randint(1, 4),
        "batch_first": rng.random() < 0.5,
        "steps": rng.randint(1, 6),
        "batch": rng.randint(1, 3),
        "variable_length": rng.random() < 0.5,
        "initial_state": rng.random() < 0.5,
    }
    if k is not None:
        cfg["k"] = k
    return cfg


def write_family(path, family, seed, cases):
    tensors, metadata = {}, {"family": family, "seed": str(seed), "torch": torch.__version__, "count": str(len(cases))}
    for index, (cfg, record) in enumerate(cases):
        key = "case%04d" % index
        metadata[key] = json.dumps(cfg, sort_keys=True)
        for name, value in record.items():
            if value is not None:
                tensors[key + "." + name] = value
    torch_spec.save_safetensors(path, tensors, metadata)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=120, help="nn.RNN/LSTM/GRU cases (default 120)")
    parser.add_argument("--sequence-count", type=int, default=8, help="cases per gated/attention model (default 8)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)

    layer_cases = []
    for _ in range(args.count):
        cfg = draw_layer_config(rng)
        layer_cases.append((cfg, layer_case(rng, cfg)))
    write_family(os.path.join(args.out, "rnn.safetensors"), "rnn", args.seed, layer_cases)

    seq_cases = []
    for model, k in [("gated_rnn", None), ("attention_rnn", 2), ("attention_rnn", 1), ("attention_rnn", 3), ("attention_rnn", "inf")]:
        for _ in range(args.sequence_count):
            cfg = draw_sequence_config(rng, model, k)
            seq_cases.append((cfg, sequence_case(rng, cfg)))
    write_family(os.path.join(args.out, "gated.safetensors"), "gated", args.seed, seq_cases)
    print("wrote %d layer cases and %d gated/attention cases to %s" % (len(layer_cases), len(seq_cases), args.out))


if __name__ == "__main__":
    main()
