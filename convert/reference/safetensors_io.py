"""The safetensors format, written and read by hand (the Python package is not installed here).

Layout: 8-byte little-endian header length N, a JSON header of N bytes (name -> {dtype, shape, data_offsets}
relative to the data section, plus an optional "__metadata__" of strings) padded with spaces to a multiple of
8, then the tensors' little-endian bytes, contiguous in header order.
"""
import json
import struct

import numpy as np
import torch

_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int32: "I32", torch.int64: "I64"}
_NUMPY = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> torch.Tensor (F32, F16, I32 or I64), written in the dict's order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        if t.dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {t.dtype}, which this writer does not handle")
        little_endian = np.dtype(_NUMPY[_DTYPES[t.dtype]]).newbyteorder("<")
        data = np.ascontiguousarray(t.detach().numpy(), dtype=little_endian).tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Returns (tensors, metadata); used to check what the writer produced, independently of the writer's input."""
    with open(path, "rb") as f:
        content = f.read()
    (n,) = struct.unpack("<Q", content[:8])
    header = json.loads(content[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    data = content[8 + n:]
    tensors, expected_begin = {}, 0
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        if begin != expected_begin:
            raise ValueError(f"{path}: tensor {name} starts at {begin}, expected {expected_begin} (not contiguous)")
        array = np.frombuffer(data[begin:end], dtype=np.dtype(_NUMPY[entry["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.astype(_NUMPY[entry["dtype"]]).reshape(entry["shape"]))
        expected_begin = end
    if expected_begin != len(data):
        raise ValueError(f"{path}: {len(data) - expected_begin} bytes after the last tensor")
    return tensors, metadata
