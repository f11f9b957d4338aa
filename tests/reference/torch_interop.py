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

  rnn-export --kind lstm|gru|rnn --input F --hidden H --layers L [--bidirectional] --classes C --steps N --seed K --out DIR
                          PyTorch → Loom for recurrent classifiers: SequenceClassifier (rnn = nn.LSTM/GRU/RNN
                          batch_first, head = nn.Linear on the last step's output), trained N Adam steps on random
                          sequences, saved with torch.save as DIR/model.pt (the test converts it with
                          tools/torch_to_safetensors.py), DIR/keys.json and DIR/data.safetensors {"x", "y"}.
  rnn-predict MANIFEST.json
                          Loom → PyTorch for the same classifiers: each {"kind", "input", "hidden", "layers",
                          "bidirectional", "classes", "model", "data", "out"} is built in torch, loads Loom's
                          safetensors with strict=True and writes its outputs {"logits"} for data["x"] to "out".

The conv export also writes model.pt (torch.save) next to its keys; the test converts it with the shipped tool.

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
import torch_to_safetensors  # noqa: E402


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
    _save_torch(model, args.out, {"x": x, "y": y})
    print("%s: trained %d steps, wrote %d state-dict keys" % (args.spec, args.steps, len(model.state_dict())))


def _save_torch(model, out, data):
    """As a PyTorch user saves: torch.save(state_dict) to model.pt; keys.json holds state_dict()'s key order."""
    os.makedirs(out, exist_ok=True)
    state = model.state_dict()
    torch.save(state, os.path.join(out, "model.pt"))
    with open(os.path.join(out, "keys.json"), "w", encoding="utf-8") as f:
        json.dump(list(state.keys()), f)
    torch_spec.save_safetensors(os.path.join(out, "data.safetensors"), data)


class SequenceClassifier(torch.nn.Module):
    """Loom's SequenceClassifier (per sequence): a batch-first recurrent layer `rnn`, a Linear `head` on the last step."""

    def __init__(self, kind, input_size, hidden, layers, bidirectional, classes):
        super().__init__()
        layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
        self.rnn = layer(input_size, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        self.head = torch.nn.Linear(hidden * (2 if bidirectional else 1), classes)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def rnn_export(args):
    torch.manual_seed(args.seed)
    model = SequenceClassifier(args.kind, args.input, args.hidden, args.layers, args.bidirectional, args.classes)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(args.steps):
        x = torch.randn(16, args.length, args.input)
        loss = F.cross_entropy(model(x), torch.randint(0, args.classes, (16,)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    x = torch.randn(args.count, args.length, args.input)
    with torch.no_grad():
        y = model(x)
    _save_torch(model, args.out, {"x": x, "y": y})
    print("%s: trained %d steps, wrote %d state-dict keys" % (model.rnn, args.steps, len(model.state_dict())))


def rnn_predict(manifest):
    with open(manifest, encoding="utf-8") as f:
        jobs = json.load(f)
    for job in jobs:
        model = SequenceClassifier(job["kind"], job["input"], job["hidden"], job["layers"], job["bidirectional"], job["classes"])
        tensors = torch_to_safetensors.load_file(job["model"])
        model.load_state_dict(tensors, strict=True)
        model.eval()
        x = torch_to_safetensors.load_file(job["data"])["x"]
        with torch.no_grad():
            logits = model(x)
        torch_spec.save_safetensors(job["out"], {"logits": logits})
        print("%s: %d sequences, %d state-dict keys loaded strictly" % (model.rnn, x.shape[0], len(tensors)))


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
    r = sub.add_parser("rnn-export")
    r.add_argument("--kind", choices=["lstm", "gru", "rnn"], required=True)
    r.add_argument("--input", type=int, required=True)
    r.add_argument("--hidden", type=int, required=True)
    r.add_argument("--layers", type=int, default=1)
    r.add_argument("--bidirectional", action="store_true")
    r.add_argument("--classes", type=int, default=3)
    r.add_argument("--length", type=int, default=7)
    r.add_argument("--steps", type=int, default=5)
    r.add_argument("--count", type=int, default=16)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--out", required=True)
    rp = sub.add_parser("rnn-predict")
    rp.add_argument("manifest")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.command == "predict":
        predict(args.manifest)
    elif args.command == "keys":
        keys(args.manifest, args.out)
    elif args.command == "rnn-export":
        rnn_export(args)
    elif args.command == "rnn-predict":
        rnn_predict(args.manifest)
    else:
        export(args)


if __name__ == "__main__":
    sys.exit(main())
