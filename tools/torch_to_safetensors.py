#!/usr/bin/env python3
"""Converts a PyTorch state dict to safetensors for Loom (and back), with only torch and the standard library.

Debian's python3-torch (1.13) has no `safetensors` module; this script writes the same format as the reference
implementation (8-byte little-endian header length, a JSON header with dtype/shape/data_offsets and __metadata__,
padded with spaces to a multiple of 8, tensors in dtype-then-name order), so `Module.LoadStateDict(path)` in Loom,
and `safetensors.torch.load_file` where it exists, read the result.

    # PyTorch → Loom: a file written by torch.save(model.state_dict(), "model.pt")
    /usr/bin/python3 tools/torch_to_safetensors.py model.pt model.safetensors
    # a training checkpoint {"epoch": 3, "model_state_dict": {...}, ...}, and DataParallel's "module." prefix
    /usr/bin/python3 tools/torch_to_safetensors.py ckpt.pt model.safetensors --key model_state_dict --strip-prefix module.
    # Loom → PyTorch without safetensors: a state dict torch.load reads
    /usr/bin/python3 tools/torch_to_safetensors.py runs/x/model.safetensors model.pt

In Python:  sys.path.insert(0, "tools"); from torch_to_safetensors import save_file, load_file
            save_file(model.state_dict(), "model.safetensors")   # as safetensors.torch.save_file

Input files are read with torch.load(weights_only=True) (no arbitrary code from the pickle); a whole pickled
nn.Module needs --allow-pickle, and only for files you trust. Tensors keep their dtype (float32, float64, float16,
bfloat16, int64 ...): Loom converts float16/bfloat16 to float32 and int64 (num_batches_tracked) to int32 on load;
--float32 converts every floating tensor here instead.
"""
import argparse
import ctypes
import json
import os
import struct
import sys

import torch

# The format's dtype names, and the reference implementation's write order (larger alignment first, then by name).
DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
TORCH_DTYPES = {name: dtype for dtype, name in DTYPES.items()}
# (The reference's Dtype enum order: BOOL < U8 < I8 < I16 < F16 < BF16 < I32 < F32 < F64 < I64; written descending.)
_ORDER = {"I64": 9, "F64": 8, "F32": 7, "I32": 6, "BF16": 5, "F16": 4, "I16": 3, "I8": 2, "U8": 1, "BOOL": 0}
METADATA = "__metadata__"
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")


class ConversionError(Exception):
    """A clear, one-line reason the input cannot be converted."""


def _little_endian():
    if sys.byteorder != "little":
        raise ConversionError("safetensors stores little-endian bytes; this converter runs on little-endian machines only")


def save_file(tensors, path, metadata=None):
    """Writes {name: tensor} as safetensors at path, atomically (temp file + rename); metadata: {str: str}."""
    _little_endian()
    header = {}
    if metadata:
        header[METADATA] = {str(k): str(v) for k, v in metadata.items()}
    items = []
    for name, t in tensors.items():
        if not isinstance(name, str) or not name or name == METADATA:
            raise ConversionError("%r cannot be a tensor key" % (name,))
        if not isinstance(t, torch.Tensor):
            raise ConversionError("%s: not a tensor but a %s" % (name, type(t).__name__))
        if t.dtype not in DTYPES:
            raise ConversionError("%s: dtype %s has no safetensors name" % (name, t.dtype))
        if t.is_sparse or t.is_quantized:
            raise ConversionError("%s: sparse and quantized tensors are not supported" % name)
        items.append((name, t.detach().to("cpu").contiguous()))
    items.sort(key=lambda kv: (-_ORDER[DTYPES[kv[1].dtype]], kv[0]))
    offset = 0
    blobs = []
    for name, t in items:
        size = t.numel() * t.element_size()
        # A copy of the bytes the tensor's storage holds (tied weights each get their own copy).
        blob = ctypes.string_at(t.data_ptr(), size) if size else b""
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        blobs.append(blob)
        offset += size
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_file(path):
    """{name: tensor} of a safetensors file (as safetensors.torch.load_file); the metadata is load_metadata(path)."""
    return _read(path)[0]


def load_metadata(path):
    """The __metadata__ string map of a safetensors file ({} when there is none)."""
    return _read(path)[1]


def _read(path):
    _little_endian()
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ConversionError("%s: %d bytes are too few for a safetensors file" % (path, len(data)))
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ConversionError("%s: header length %d is longer than the %d bytes that follow it" % (path, n, len(data) - 8))
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ConversionError("%s: the header is not UTF-8 JSON (%s)" % (path, e))
    metadata = header.pop(METADATA, None) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if entry.get("dtype") not in TORCH_DTYPES:
            raise ConversionError("%s: tensor %r: unknown dtype %r" % (path, name, entry.get("dtype")))
        dtype = TORCH_DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = 1
        for d in entry["shape"]:
            count *= d
        size = torch.empty((), dtype=dtype).element_size()
        if not 0 <= begin <= end <= len(body) or end - begin != count * size:
            raise ConversionError("%s: tensor %r: data_offsets %s do not hold shape %s of %s"
                                  % (path, name, [begin, end], entry["shape"], entry["dtype"]))
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(entry["shape"])
    return tensors, metadata


def state_dict_of(obj, key=None, allow_module=False):
    """The flat {name: tensor} inside what torch.load returned: a state dict, a checkpoint dict holding one, or a module."""
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            found = ", ".join(sorted(map(str, obj.keys()))) if isinstance(obj, dict) else type(obj).__name__
            raise ConversionError("--key %s: not in the file (it holds: %s)" % (key, found))
        obj = obj[key]
    if isinstance(obj, torch.nn.Module):
        if not allow_module:
            raise ConversionError("the file holds a whole nn.Module; save model.state_dict() instead, or pass --allow-pickle")
        return dict(obj.state_dict())
    if not isinstance(obj, dict):
        raise ConversionError("expected a state dict (a dict of tensors), found a %s" % type(obj).__name__)
    if obj and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for candidate in _CHECKPOINT_KEYS:
            if isinstance(obj.get(candidate), (dict, torch.nn.Module)):
                return state_dict_of(obj[candidate], allow_module=allow_module)
    others = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if others:
        raise ConversionError("not every entry is a tensor (%s); a checkpoint? pass --key with the state dict's key"
                              % ", ".join("%s: %s" % (k, type(obj[k]).__name__) for k in others[:5]))
    return dict(obj)


def torch_load(path, allow_pickle=False):
    """torch.load on the CPU; weights_only (no code from the pickle) unless allow_pickle."""
    if allow_pickle:
        return torch.load(path, map_location="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # a torch older than 1.13 has no weights_only
        raise ConversionError("this torch (%s) cannot load without running the pickle's code; pass --allow-pickle "
                              "for a file you trust" % torch.__version__)
    except Exception as e:  # noqa: BLE001  (torch raises UnpicklingError, RuntimeError, ... here)
        raise ConversionError("%s: torch.load(weights_only=True) failed (%s); a pickled nn.Module or custom "
                              "class needs --allow-pickle, for a file you trust" % (path, str(e).splitlines()[0]))


def convert(source, target, key=None, strip_prefix=None, float32=False, allow_pickle=False):
    """source (.pt/.pth/.bin, or .safetensors) → target (.safetensors, or .pt); returns the number of tensors."""
    if not os.path.isfile(source):
        raise ConversionError("%s does not exist" % source)
    to_torch = target.endswith((".pt", ".pth"))
    if source.endswith(".safetensors"):
        tensors, metadata = _read(source)
    else:
        tensors, metadata = state_dict_of(torch_load(source, allow_pickle), key, allow_pickle), {"format": "pt"}
    if strip_prefix:
        tensors = {(k[len(strip_prefix):] if k.startswith(strip_prefix) else k): v for k, v in tensors.items()}
    if float32:
        tensors = {k: (v.float() if v.is_floating_point() else v) for k, v in tensors.items()}
    if to_torch:
        tmp = target + ".tmp"
        torch.save(tensors, tmp)
        os.replace(tmp, target)
    else:
        save_file(tensors, target, metadata)
    return len(tensors)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("source", help="torch.save file (.pt, .pth, .bin), or a .safetensors file to turn into a .pt")
    parser.add_argument("target", help="the .safetensors file to write (or a .pt / .pth)")
    parser.add_argument("--key", help="the entry of a checkpoint dict that holds the state dict, e.g. model_state_dict")
    parser.add_argument("--strip-prefix", help="remove this prefix from every key, e.g. module. (DataParallel)")
    parser.add_argument("--float32", action="store_true", help="convert every floating tensor to float32")
    parser.add_argument("--allow-pickle", action="store_true", help="load whole pickled modules (runs the file's code)")
    args = parser.parse_args()
    try:
        count = convert(args.source, args.target, args.key, args.strip_prefix, args.float32, args.allow_pickle)
    except (ConversionError, OSError) as e:
        print("torch_to_safetensors: %s" % e, file=sys.stderr)
        return 1
    print("wrote %d tensors to %s" % (count, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
