#!/usr/bin/env python3
"""Both directions of Loom ⇄ PyTorch state dicts, for tests/Loom.Tests/Interop/TorchInteropTests.cs.

  predict MANIFEST.json   Loom → PyTorch. MANIFEST is a list of {"spec", "input", "model", "data", "out"}: for each,
                          build the torch.nn.Sequential of the Loom spec (tools/torch_spec.py), load Loom's
                          model.safetensors with load_state_dict(strict=True), evaluate data["x"] in eval mode and
                          write {"logits"} to "out".
  keys MANIFEST.json OUT  For each {"spec", "input"} in MANIFEST, the state dict of torch_spec.build(spec, input) as
                          [key, shape, dtype] rows in state_dict() order; written to OUT as JSON {spec: rows}.
  export --spec S --input CxHxW --steps N --seed K --out DIR
                          PyTorch → Loom. Build the model in PyTorch, train it N SGD steps on random data (so the
                          weights and the batch-norm running statistics move), then write DIR/model.safetensors (the
                          state dict with PyTorch's keys and dtypes: num_batches_tracked int64; __metadata__ "keys":
                          the keys in state_dict() order) and DIR/data.safetensors
                          {"x": test inputs, "y": the eval-mode outputs, float32}.

    /usr/bin/python3 tests/reference/torch_interop.py export --spec "conv(8,3,p=1) bn relu flatten linear(10)" \
        --input 1x8x8 --steps 5 --seed 1 --out /tmp/from-torch

Needs only torch (Debian's python3-torch) and the standard library.
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import torch_spec  # noqa: E402


def predict(manifest):
    with open(manifest, encoding="utf-8") as f:
        jobs = json.load(f)
    for job in jobs:
        model = torch_spec.build(job["spec"], job["input"])
        tensors, _ = torch_spec.load_safetensors(job["model"])
        model.load_state_dict(tensors, strict=True)
        model.eval()
        x = torch_spec.load_safetensors(job["data"])[0]["x"]
        with torch.no_grad():
            logits = torch.cat([model(chunk) for chunk in torch.split(x, 500)])
        torch_spec.save_safetensors(job["out"], {"logits": logits})
        print("%s: %d inputs, %d state-dict keys loaded strictly" % (job["spec"], x.shape[0], len(tensors)))


def keys(manifest, out):
    with open(manifest, encoding="utf-8") as f:
        jobs = json.load(f)
    result = {}
    for job in jobs:
        state = torch_spec.build(job["spec"], job["input"]).state_dict()
        result[job["spec"]] = [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in state.items()]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f)


def export(args):
    torch.manual_seed(args.seed)
    shape = torch_spec.parse_shape(args.input)
    model = torch_spec.build(args.spec, shape)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(args.steps):
        x = torch.randn(16, *shape)
        logits = model(x)
        loss = F.cross_entropy(logits, torch.randint(0, logits.shape[1], (16,)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    x = torch.randn(args.count, *shape)
    with torch.no_grad():
        y = model(x)
    os.makedirs(args.out, exist_ok=True)
    state = model.state_dict()
    metadata = {"format": "pt", "keys": json.dumps(list(state.keys()))}  # PyTorch's key order, for the test
    torch_spec.save_safetensors(os.path.join(args.out, "model.safetensors"), state, metadata)
    torch_spec.save_safetensors(os.path.join(args.out, "data.safetensors"), {"x": x, "y": y})
    print("%s: trained %d steps, wrote %d state-dict keys" % (args.spec, args.steps, len(model.state_dict())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict")
    p.add_argument("manifest")
    k = sub.add_parser("keys")
    k.add_argument("manifest")
    k.add_argument("out")
    e = sub.add_parser("export")
    e.add_argument("--spec", required=True)
    e.add_argument("--input", required=True)
    e.add_argument("--steps", type=int, default=5)
    e.add_argument("--count", type=int, default=32)
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.command == "predict":
        predict(args.manifest)
    elif args.command == "keys":
        keys(args.manifest, args.out)
    else:
        export(args)


if __name__ == "__main__":
    sys.exit(main())
