#!/usr/bin/env python3
"""Loom model specs as PyTorch modules, and a minimal safetensors reader/writer.

`build(spec, input_shape)` turns a Loom model spec (the grammar of `loom summary`, e.g. "conv(32,3,p=1) relu
maxpool(2) flatten linear(10)") and an input shape without the batch axis (C×H×W, C×L or F) into the equivalent
`torch.nn.Sequential`, layer for layer, so its state-dict keys are exactly those of the Loom model built from the
same spec (`0.weight`, `3.bias`, … counting parameterless layers): a state dict saved by one loads into the other
with strict=True.

    /usr/bin/python3 tools/torch_spec.py "conv(8,3,p=1) bn relu basic(16,s=2) gap flatten linear(10)" --input 1x28x28
    /usr/bin/python3 tools/torch_spec.py smallcnn --input 1x28x28 --load runs/x/model.safetensors

Layers (as src/Loom/Nn/Spec/ModelBuilder.cs):
  conv(F,K[,s=S][,p=P|PHxPW|[t,b,l,r]|same|valid][,d=D][,g=G][,bias=false])  nn.Conv2d (nn.Conv1d on C×L input);
        padding that differs between the two sides of an axis runs as F.pad inside a Conv subclass (same keys)
  convt(F,K[,s=S][,p=P][,op=OP][,d=D][,g=G])   nn.ConvTranspose2d     linear(N[,bias=false])   nn.Linear
  maxpool / avgpool (2-D, or 1-D on C×L)   gap, adaptiveavgpool(S)   bn(eps=,momentum=) → BatchNorm2d/1d
  relu leakyrelu(S) gelu tanh sigmoid softmax dropout(P) flatten
  res(LAYERS…) → Residual (body = Sequential)   basic(F[,s=S]) → BasicBlock (torchvision: conv1 bn1 conv2 bn2 downsample)

Needs only torch (Debian's python3-torch) and the standard library.
"""
import argparse
import ctypes
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "smallcnn": "conv(32,3,p=1) relu maxpool(2) conv(64,3,p=1) relu maxpool(2) flatten linear(128) relu linear({C})",
    "resnet-small": "conv(32,3,p=1) bn relu basic(32) basic(64,s=2) basic(128,s=2) gap flatten linear({C})",
    "mlp": "flatten linear(256) relu linear(128) relu linear({C})",
    "lenet5": "conv(6,5,p=2) tanh avgpool(2) conv(16,5) tanh avgpool(2) flatten linear(120) tanh linear(84) tanh linear({C})",
}


def resolve(name_or_spec, num_classes=10):
    """A preset's spec ({C} = the class count), or the text itself when it is not a preset."""
    spec = PRESETS.get(name_or_spec.strip().lower(), name_or_spec)
    return spec.replace("{C}", str(num_classes))


# ---------------------------------------------------------------- spec parsing (as src/Loom/Nn/Spec/SpecParser.cs)

class SpecError(ValueError):
    pass


class Layer:
    """One layer: name, positional values, named values, and at most one nested layer list (res)."""

    def __init__(self, name, text, position):
        self.name, self.text, self.position = name, text, position
        self.positional, self.named, self.nested = [], {}, []

    def raw(self, index, names=()):
        for n in names:
            if n in self.named:
                return self.named[n]
        return self.positional[index] if 0 <= index < len(self.positional) else None

    def int(self, index, names, default):
        text = self.raw(index, names)
        if text is None:
            if default is None:
                raise SpecError("%s at position %d: missing argument %d" % (self.name, self.position, index + 1))
            return default
        return int(text)

    def float(self, index, names, default):
        text = self.raw(index, names)
        return default if text is None else float(text)

    def bool(self, names, default):
        text = self.raw(-1, names)
        if text is None:
            return default
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise SpecError("%s: %s must be true or false, found %r" % (self.name, names[0], text))


_TOKEN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+")


def parse(spec):
    """Layers of a spec string; `res(...)` holds its nested layers in `.nested`."""
    pos = [0]
    layers = _sequence(spec, pos, None)
    if not layers:
        raise SpecError("the model spec is empty")
    return layers


def _skip(s, pos):
    while pos[0] < len(s) and s[pos[0]].isspace():
        pos[0] += 1


def _token(s, pos):
    start = pos[0]
    while pos[0] < len(s) and s[pos[0]] in _TOKEN:
        pos[0] += 1
    return s[start:pos[0]]


def _sequence(s, pos, closing):
    layers = []
    while True:
        _skip(s, pos)
        if pos[0] >= len(s):
            if closing is not None:
                raise SpecError("missing ')' at the end")
            return layers
        if closing is not None and s[pos[0]] in (closing, ","):
            return layers
        layers.append(_layer(s, pos))


def _layer(s, pos):
    start = pos[0]
    while pos[0] < len(s) and (s[pos[0]].isalnum() or s[pos[0]] in "_-"):
        pos[0] += 1
    if pos[0] == start:
        raise SpecError("unexpected %r at position %d" % (s[pos[0]], pos[0] + 1))
    layer = Layer(s[start:pos[0]].lower(), None, start + 1)
    if pos[0] < len(s) and s[pos[0]] == "(":
        pos[0] += 1
        while True:
            _skip(s, pos)
            if pos[0] >= len(s):
                raise SpecError("missing ')' for %s" % layer.name)
            if s[pos[0]] == ")":
                pos[0] += 1
                break
            _argument(s, pos, layer)
            _skip(s, pos)
            if pos[0] < len(s) and s[pos[0]] == ",":
                pos[0] += 1
                continue
            if pos[0] < len(s) and s[pos[0]] == ")":
                pos[0] += 1
                break
            raise SpecError("unexpected text at position %d in %s" % (pos[0] + 1, layer.name))
    layer.text = s[start:pos[0]]
    return layer


def _value(s, pos):
    if pos[0] < len(s) and s[pos[0]] == "[":
        close = s.index("]", pos[0])
        inner = s[pos[0] + 1:close].replace(" ", "")
        pos[0] = close + 1
        return inner
    token = _token(s, pos)
    if not token:
        raise SpecError("expected a value at position %d" % (pos[0] + 1))
    return token


def _argument(s, pos, layer):
    save = pos[0]
    ident = _token(s, pos)
    _skip(s, pos)
    if pos[0] < len(s) and s[pos[0]] == "=":
        pos[0] += 1
        _skip(s, pos)
        layer.named[ident.lower()] = _value(s, pos)
        return
    pos[0] = save
    if ident and ident[0].isalpha() and ident.lower() not in ("same", "valid", "true", "false", "inf"):
        layer.nested.append(_sequence(s, pos, ")"))
        return
    layer.positional.append(_value(s, pos))


# ---------------------------------------------------------------- modules with Loom's structure and PyTorch's keys

class Residual(nn.Module):
    """y = body(x) + x (keys body.*), as Loom.Nn.Residual."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x) + x


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x))."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, 0, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class SidePaddedConv2d(nn.Conv2d):
    """nn.Conv2d with padding per side (top, bottom, left, right): F.pad, then the convolution with padding 0."""

    def __init__(self, *args, sides, **kwargs):
        super().__init__(*args, padding=0, **kwargs)
        self.sides = tuple(sides)

    def forward(self, x):
        top, bottom, left, right = self.sides
        return super().forward(F.pad(x, (left, right, top, bottom)))

    def extra_repr(self):
        return super().extra_repr() + ", sides=%s" % (self.sides,)


class SidePaddedConv1d(nn.Conv1d):
    """nn.Conv1d with padding per side (left, right)."""

    def __init__(self, *args, sides, **kwargs):
        super().__init__(*args, padding=0, **kwargs)
        self.sides = tuple(sides)

    def forward(self, x):
        return super().forward(F.pad(x, self.sides))

    def extra_repr(self):
        return super().extra_repr() + ", sides=%s" % (self.sides,)


def _pair(text):
    parts = text.lower().split("x")
    if len(parts) > 2:
        raise SpecError("expected N or NxM, found %r" % text)
    return (int(parts[0]), int(parts[-1]))


def _padding(text, spatial):
    """Per-axis (low, high) padding from P, PHxPW, t,b,l,r (or l,r) — or the strings 'same'/'valid'."""
    t = text.strip().lower()
    if t in ("same", "valid"):
        return t
    if "," in t:
        v = [int(p) for p in t.split(",")]
        if len(v) != 2 * spatial:
            raise SpecError("padding %r needs %d values" % (text, 2 * spatial))
        return [(v[2 * a], v[2 * a + 1]) for a in range(spatial)]
    v = [int(p) for p in t.split("x")]
    if len(v) == 1:
        v = v * spatial
    if len(v) != spatial:
        raise SpecError("padding %r needs 1 or %d values" % (text, spatial))
    return [(p, p) for p in v]


def _conv(layer, shape):
    filters = layer.int(0, ["filters"], None)
    k_text = layer.raw(1, ["k", "kernel"])
    groups = layer.int(-1, ["g", "groups"], 1)
    bias = layer.bool(["bias"], True)
    p_text = layer.raw(-1, ["p", "padding"]) or "0"
    s_text, d_text = layer.raw(-1, ["s", "stride"]) or "1", layer.raw(-1, ["d", "dilation"]) or "1"
    if len(shape) == 2:
        k, s, d = int(k_text), int(s_text), int(d_text)
        pad = _padding(p_text, 1)
        if isinstance(pad, str):
            return nn.Conv1d(shape[0], filters, k, s, pad, d, groups, bias)
        if pad[0][0] == pad[0][1]:
            return nn.Conv1d(shape[0], filters, k, s, pad[0][0], d, groups, bias)
        return SidePaddedConv1d(shape[0], filters, k, s, dilation=d, groups=groups, bias=bias, sides=pad[0])
    k, s, d = _pair(k_text), _pair(s_text), _pair(d_text)
    pad = _padding(p_text, 2)
    if isinstance(pad, str):
        return nn.Conv2d(shape[0], filters, k, s, pad, d, groups, bias)
    if all(lo == hi for lo, hi in pad):
        return nn.Conv2d(shape[0], filters, k, s, (pad[0][0], pad[1][0]), d, groups, bias)
    return SidePaddedConv2d(shape[0], filters, k, s, dilation=d, groups=groups, bias=bias,
                            sides=(pad[0][0], pad[0][1], pad[1][0], pad[1][1]))


def _create(layer, shape):
    n = layer.name
    if n in ("conv", "conv2d", "conv1d"):
        return _conv(layer, shape)
    if n in ("convt", "convtranspose", "convtranspose2d"):
        return nn.ConvTranspose2d(shape[0], layer.int(0, ["filters"], None), _pair(layer.raw(1, ["k", "kernel"])),
                                  stride=_pair(layer.raw(-1, ["s", "stride"]) or "1"),
                                  padding=_pair(layer.raw(-1, ["p", "padding"]) or "0"),
                                  output_padding=_pair(layer.raw(-1, ["op", "output_padding"]) or "0"),
                                  groups=layer.int(-1, ["g", "groups"], 1), bias=layer.bool(["bias"], True),
                                  dilation=_pair(layer.raw(-1, ["d", "dilation"]) or "1"))
    if n in ("linear", "fc", "dense"):
        return nn.Linear(shape[-1], layer.int(0, ["out", "features"], None), bias=layer.bool(["bias"], True))
    if n in ("maxpool", "maxpool2d", "maxpool1d", "avgpool", "avgpool2d", "avgpool1d"):
        k = _pair(layer.raw(0, ["k", "kernel"]))
        s_text = layer.raw(1, ["s", "stride"])
        s = _pair(s_text) if s_text is not None else k
        p = _pair(layer.raw(-1, ["p", "padding"]) or "0")
        ceil = layer.bool(["ceil", "ceil_mode"], False)
        if n.startswith("max"):
            d = _pair(layer.raw(-1, ["d", "dilation"]) or "1")
            if len(shape) == 2:
                return nn.MaxPool1d(k[0], s[0], p[0], d[0], ceil_mode=ceil)
            return nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)
        include = layer.bool(["include_pad", "count_include_pad"], True)
        if len(shape) == 2:
            return nn.AvgPool1d(k[0], s[0], p[0], ceil_mode=ceil, count_include_pad=include)
        return nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=include)
    if n == "gap":
        return nn.AdaptiveAvgPool2d(1)
    if n in ("adaptiveavgpool", "adaptiveavgpool2d"):
        return nn.AdaptiveAvgPool2d(_pair(layer.raw(0, ["size"]) or "1"))
    if n in ("bn", "batchnorm"):
        eps, momentum = layer.float(-1, ["eps"], 1e-5), layer.float(-1, ["momentum"], 0.1)
        return (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0], eps=eps, momentum=momentum)
    simple = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "flatten": nn.Flatten}
    if n in simple:
        return simple[n]()
    if n == "softmax":
        return nn.Softmax(dim=-1)
    if n == "leakyrelu":
        return nn.LeakyReLU(layer.float(0, ["slope"], 0.01))
    if n == "dropout":
        return nn.Dropout(layer.float(0, ["p"], 0.5))
    if n in ("res", "residual"):
        if len(layer.nested) != 1:
            raise SpecError("res expects one list of layers")
        body, inner_shape = _sequential(layer.nested[0], shape)
        if inner_shape != shape:
            raise SpecError("res: the block maps %s to %s" % (shape, inner_shape))
        return Residual(body)
    if n in ("basic", "basicblock"):
        return BasicBlock(shape[0], layer.int(0, [], None), layer.int(-1, ["s", "stride"], 1))
    raise SpecError("unknown layer %r at position %d" % (n, layer.position))


def _probe(module, shape):
    """The output shape (without the batch axis) of module on a zero batch of one, in eval mode."""
    was = module.training
    module.eval()
    with torch.no_grad():
        y = module(torch.zeros((1,) + tuple(shape)))
    module.train(was)
    if y.numel() == 0:
        # PyTorch 1.13's no-grad max_pool1d returns an empty tensor where its autograd path (and Loom) raise.
        raise SpecError("%s maps %s to the empty %s" % (type(module).__name__, tuple(shape), tuple(y.shape[1:])))
    return tuple(y.shape[1:])


def _sequential(layers, shape):
    model = nn.Sequential()
    for layer in layers:
        module = _create(layer, shape)
        shape = _probe(module, shape)
        model.append(module)
    return model, shape


def build(spec, input_shape, num_classes=10):
    """The torch.nn.Sequential for a Loom spec (or preset name) and an input shape without the batch axis."""
    model, _ = _sequential(parse(resolve(spec, num_classes)), tuple(input_shape))
    return model


def parse_shape(text):
    """'1x28x28' → (1, 28, 28)."""
    return tuple(int(v) for v in text.lower().replace("×", "x").split("x"))


# ---------------------------------------------------------------- safetensors (struct + json + ctypes)

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}
# The reference implementation writes larger-alignment dtypes first (descending dtype order), then by name.
_ORDER = {"I64": 6, "F64": 5, "F32": 4, "I32": 3, "BF16": 2, "F16": 2, "I16": 2, "U8": 1, "I8": 1, "BOOL": 0}


def save_safetensors(path, tensors, metadata=None):
    """Writes a dict of CPU tensors as safetensors (as the reference implementation: dtype-then-name order, header
    padded with spaces to a multiple of 8), atomically (temp file + rename)."""
    items = sorted(tensors.items(), key=lambda kv: (-_ORDER[_NAMES[kv[1].dtype]], kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, t in items:
        t = t.detach().to("cpu").contiguous()
        blob = ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def load_safetensors(path):
    """(tensors, metadata) of a safetensors file; every header entry is checked against the file's length."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError("%s: header length %d runs past the end" % (path, n))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        dtype = _DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = 1
        for d in shape:
            count *= d
        size = torch.tensor([], dtype=dtype).element_size()
        if not 0 <= begin <= end <= len(body) or end - begin != count * size:
            raise ValueError("%s: tensor %r: offsets %s do not fit shape %s of %s" % (path, name, [begin, end], shape, entry["dtype"]))
        chunk = bytearray(body[begin:end])
        t = torch.frombuffer(chunk, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(shape).clone()
    return tensors, metadata


def load_into(model, path, strict=True):
    """Loads a safetensors state dict into model (load_state_dict(strict)); returns the file's metadata."""
    tensors, metadata = load_safetensors(path)
    model.load_state_dict(tensors, strict=strict)
    return metadata


def main():
    parser = argparse.ArgumentParser(description="Print the torch.nn.Sequential of a Loom spec (and load weights).")
    parser.add_argument("spec", help="a Loom spec or preset name")
    parser.add_argument("--input", required=True, help="input shape without the batch axis, e.g. 1x28x28")
    parser.add_argument("--classes", type=int, default=10, help="{C} in presets")
    parser.add_argument("--load", help="a safetensors state dict to load with strict=True")
    args = parser.parse_args()
    model = build(args.spec, parse_shape(args.input), args.classes)
    if args.load:
        load_into(model, args.load)
        print("loaded %s (strict)" % args.load)
    print(model)
    for key, value in model.state_dict().items():
        print("%-32s %-14s %s" % (key, str(value.dtype).replace("torch.", ""), list(value.shape)))


if __name__ == "__main__":
    sys.exit(main())
