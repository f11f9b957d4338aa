#!/usr/bin/env python3
"""Reads a TensorBoard event file with nothing but the standard library, as an independent check of Loom's writer.

Usage: read_tfevents.py FILE  ->  one JSON object per event on stdout:
  {"wall_time": ..., "step": ..., "file_version": "..."} or
  {"wall_time": ..., "step": ..., "values": [{"tag": ..., "simple_value": ...} | {"tag": ..., "image": {...}}]}
then a last line {"torn_tail_bytes": N}. Exits 1 with a message on a bad CRC or a malformed message.

The TFRecord framing (uint64 length, masked CRC-32C of it, data, masked CRC-32C of the data) and the protobuf wire
format are decoded by hand here, with TensorFlow's field numbers (event.proto, summary.proto), so this shares no
code with Loom's C# reader or with the generated protobuf classes.
"""
import json
import struct
import sys


def _table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


TABLE = _table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) of one message; length-delimited values are bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise ValueError("field runs past the end of the message")
        yield number, wire, value


def image(buf):
    out = {}
    for number, _, value in fields(buf):
        if number == 1:
            out["height"] = value
        elif number == 2:
            out["width"] = value
        elif number == 3:
            out["colorspace"] = value
        elif number == 4:
            out["png_bytes"] = len(value)
            out["png_signature"] = value[:8] == b"\x89PNG\r\n\x1a\n"
    return out


def summary_value(buf):
    out = {}
    for number, _, value in fields(buf):
        if number == 1:
            out["tag"] = value.decode("utf-8")
        elif number == 2:
            out["simple_value"] = struct.unpack("<f", value)[0]
        elif number == 4:
            out["image"] = image(value)
    return out


def event(buf):
    out = {"wall_time": 0.0, "step": 0}
    for number, _, value in fields(buf):
        if number == 1:
            out["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2:
            out["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3:
            out["file_version"] = value.decode("utf-8")
        elif number == 5:
            out["values"] = [summary_value(v) for n, _, v in fields(value) if n == 1]
    return out


def main(path):
    data = open(path, "rb").read()
    pos = index = 0
    while pos < len(data):
        if len(data) - pos < 12:
            break
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked(header) != length_crc:
            sys.exit(f"{path}: record {index} at byte {pos}: bad length CRC")
        if len(data) - pos < length + 16:
            break
        body = data[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if masked(body) != data_crc:
            sys.exit(f"{path}: record {index} at byte {pos}: bad data CRC")
        print(json.dumps(event(body)))
        pos += length + 16
        index += 1
    print(json.dumps({"torn_tail_bytes": len(data) - pos}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
