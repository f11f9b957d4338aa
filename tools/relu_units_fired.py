#!/usr/bin/python3
"""How often each unit of a trained one-layer ReLU RNN fires on echo-bits input.

A ReLU unit whose pre-activation stays negative on every step outputs 0 and passes no gradient: it is dead, and
the network has one unit fewer to remember the last bits with. This replays the run's model.safetensors (Loom
writes PyTorch's keys: rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0) on 64 fresh series of
1000 fair bits and prints, per unit, the fraction of steps with h > 0.

    /usr/bin/python3 tools/relu_units_fired.py RUN_DIR [RUN_DIR ...]
"""
import json
import struct
import sys

import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    tensors = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        tensors[key] = torch.frombuffer(bytearray(data[start:end]), dtype=torch.float32).reshape(info["shape"])
    return tensors


def fired_fractions(run_dir, series=64, steps=1000, seed=0):
    w = load_safetensors(f"{run_dir}/model.safetensors")
    w_ih, w_hh = w["rnn.weight_ih_l0"], w["rnn.weight_hh_l0"]
    b = w["rnn.bias_ih_l0"] + w["rnn.bias_hh_l0"]
    torch.manual_seed(seed)
    bits = torch.randint(0, 2, (series, steps)).float()
    h = torch.zeros(series, w_hh.shape[0])
    fired = torch.zeros(w_hh.shape[0])
    for t in range(steps):
        h = torch.relu(bits[:, t : t + 1] @ w_ih.T + b + h @ w_hh.T)
        fired += (h > 0).float().mean(0)
    return (fired / steps).tolist()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: relu_units_fired.py RUN_DIR [RUN_DIR ...]")
    for run in sys.argv[1:]:
        fractions = fired_fractions(run)
        dead = sum(1 for f in fractions if f == 0)
        print(f"{run}: {dead} of {len(fractions)} units never fire; fraction of steps each fires: "
              + " ".join(f"{f:.3f}" for f in fractions))
