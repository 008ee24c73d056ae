#!/usr/bin/env python3
"""Writes test/fixtures/torch-bin/: tiny files made by real torch.save for the TypeScript `.bin` reader's tests,
with the tensors PyTorch holds written beside each good file as <case>.expected.json (dtype, shape and the
contiguous little-endian bytes in hex), plus bad files the reader must refuse.

Run by hand from the repository root:  /usr/bin/python3 convert/reference/make_torch_bin_fixtures.py
Needs torch only. Output is deterministic (fixed seeds, fixed zip times) except legacy.bin, whose format keys storages
by object id; commit what it writes. See README-torch-bin.md.
"""
import collections
import json
import os
import shutil
import struct
import zipfile

import torch

FORMAT_VERSION = 1
GENERATOR = "/usr/bin/python3 convert/reference/make_torch_bin_fixtures.py"
OUT = os.path.join("test", "fixtures", "torch-bin")

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: take the raw 16-bit patterns
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save_case(case, obj, expected):
    """torch.save(obj) as <case>.bin and the tensors it must read back as <case>.expected.json."""
    torch.save(obj, os.path.join(OUT, case + ".bin"))
    tensors = {name: {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "hex": tensor_bytes(t).hex()}
               for name, t in expected.items()}
    with open(os.path.join(OUT, case + ".expected.json"), "w") as f:
        json.dump({"format_version": FORMAT_VERSION, "generator": GENERATOR, "torch": torch.__version__,
                   "tensors": tensors}, f, indent=1)
        f.write("\n")


def make_dtypes():
    """One tensor of every dtype, values at the edges of each (NaN, inf, -0, subnormals, extremes), a 0-d
    tensor and an empty one."""
    f32 = torch.tensor([[1.5, -0.0, float("inf")], [float("nan"), 1e-45, -3.4028234663852886e38]])
    sd = collections.OrderedDict([
        ("f64", torch.tensor([1 / 3, -2.0 ** -1074, 1.7976931348623157e308], dtype=torch.float64)),
        ("f32", f32),
        ("f16", torch.tensor([65504.0, -2.0 ** -24, 0.1, float("-inf")], dtype=torch.float16)),
        ("bf16", torch.tensor([[1.0, -0.0], [3.3895313892515355e38, 1e-40], [0.1, 7.0]], dtype=torch.bfloat16)),
        ("i64", torch.tensor([-(2 ** 63), 2 ** 63 - 1, 2 ** 53 + 1], dtype=torch.int64)),
        ("i32", torch.tensor([-(2 ** 31), 2 ** 31 - 1], dtype=torch.int32)),
        ("i16", torch.tensor([-(2 ** 15), 2 ** 15 - 1], dtype=torch.int16)),
        ("i8", torch.tensor([-128, 127, 0], dtype=torch.int8)),
        ("u8", torch.tensor([0, 255, 7], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
    ])
    save_case("dtypes", sd, sd)


def make_views():
    """Tensors that are views: a transpose, a slice with a storage offset, a strided column, a broadcast
    (stride 0), and two tensors sharing one storage at different offsets."""
    g = torch.Generator().manual_seed(1)
    base = torch.randn(4, 5, generator=g)
    shared = torch.randn(10, generator=g)
    sd = collections.OrderedDict([
        ("transposed", base.t()),
        ("rows_1_to_3", base[1:3]),
        ("column_2", base[:, 2]),
        ("broadcast", torch.randn(3, generator=g).expand(2, 3)),
        ("shared_head", shared[:4]),
        ("shared_tail", shared[6:].view(2, 2)),
        ("half_transposed", torch.randn(3, 2, generator=g).half().t()),
    ])
    save_case("views", sd, sd)


def make_parameter():
    """nn.Parameter objects saved as they are (torch._utils._rebuild_parameter)."""
    g = torch.Generator().manual_seed(2)
    sd = {"weight": torch.nn.Parameter(torch.randn(2, 3, generator=g)),
          "frozen": torch.nn.Parameter(torch.randn(3, generator=g).bfloat16(), requires_grad=False)}
    save_case("parameter", sd, sd)


def make_module():
    """A module's state_dict, as Hugging Face saves it: an OrderedDict carrying a `_metadata` attribute
    (set by BUILD), float parameters and integer 0-d buffers."""
    torch.manual_seed(3)
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2), torch.nn.BatchNorm1d(2))
    module(torch.randn(4, 3))  # a training-mode step moves BatchNorm's running statistics off their defaults
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape))
    sd = module.state_dict()
    assert hasattr(sd, "_metadata")
    save_case("module", sd, sd)


def make_legacy():
    torch.save({"w": torch.ones(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)


class RunsShell:
    """Unpickling this under Python would run a shell command."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/pwned",))


class RunsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned > /tmp/pwned')",))


def make_malicious():
    """Real torch.save files whose pickle calls os.system / builtins.eval (written as posix.system and
    __builtin__.eval by pickle protocol 2); the payload follows a good tensor."""
    torch.save(collections.OrderedDict([("ok", torch.ones(2)), ("evil", RunsShell())]),
               os.path.join(OUT, "malicious-os-system.bin"))
    torch.save(collections.OrderedDict([("ok", torch.ones(2)), ("evil", RunsEval())]),
               os.path.join(OUT, "malicious-eval.bin"))


def make_truncated():
    with open(os.path.join(OUT, "dtypes.bin"), "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, "truncated.bin"), "wb") as f:
        f.write(data[: len(data) // 2])


def fixed_time(name, compression):
    """A zip entry stamped 1980-01-01, so that re-running the script rewrites identical bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    return info


def make_storage_too_small():
    """views.bin with one storage record cut short (re-zipped by Python's zipfile, so the zip is valid)."""
    with zipfile.ZipFile(os.path.join(OUT, "views.bin")) as src, \
            zipfile.ZipFile(os.path.join(OUT, "storage-too-small.bin"), "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/data/0"):
                data = data[:-4]
            dst.writestr(fixed_time(info.filename, zipfile.ZIP_STORED), data)


def make_deflated():
    """views.bin re-zipped with deflate compression, which torch never writes."""
    with zipfile.ZipFile(os.path.join(OUT, "views.bin")) as src, \
            zipfile.ZipFile(os.path.join(OUT, "deflated.bin"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(fixed_time(info.filename, zipfile.ZIP_DEFLATED), src.read(info))


def make_zip64():
    """dtypes.bin re-packed the way zip writers lay out archives over 4 GiB: every size and offset in the
    central directory is 0xFFFFFFFF with the real value in a zip64 extra field (0x0001), the local headers carry
    zip64 sizes too, and only the zip64 end-of-central-directory record holds the real counts."""
    with zipfile.ZipFile(os.path.join(OUT, "dtypes.bin")) as src:
        entries = [(info.filename.encode(), src.read(info)) for info in src.infolist()]
    out, central = bytearray(), bytearray()
    for name, data in entries:
        crc, offset = zipfile.crc32(data), len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(name), len(extra)) + name + extra + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + extra
    cd_offset = len(out)
    out += central
    eocd64_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central),
                       cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(os.path.join(OUT, "zip64.bin"), "wb") as f:
        f.write(out)


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_dtypes()
    make_views()
    make_parameter()
    make_module()
    make_legacy()
    make_malicious()
    make_truncated()
    make_storage_too_small()
    make_deflated()
    make_zip64()


if __name__ == "__main__":
    main()
