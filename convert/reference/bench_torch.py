"""The PyTorch peer of the benchmark (benchmarks/): times the reference forward pass on the same model and
token ids as the other engines.

    /usr/bin/python3 convert/reference/bench_torch.py HUB_DIR ADAPTER_DIR_NAME WORKLOADS.json THREADS [PRECISION]

WORKLOADS.json: {"warmup": [[ids, ...]], "workloads": [{"name": str, "batches": [[[ids...], ...], ...]}]},
each batch padded here to its longest row. PRECISION: fp32 (default); bf16, PyTorch's CPU autocast over the
reference forward; int8, torch.ao dynamic quantization of every nn.Linear (s8 weights per tensor, activations
quantized per call). Prints one JSON object: seconds per workload and peak RSS.
"""
import contextlib
import json
import resource
import sys
import time

import torch

from export_onnx import load_encoder


def padded(batch):
    """[ids] -> (ids, mask) as int64 tensors, padded with 0 ([PAD]) to the longest row."""
    width = max(len(row) for row in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    for i, row in enumerate(batch):
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    return ids, mask


def with_precision(encoder, precision):
    """The encoder and the context its forward runs in, at `precision`."""
    if precision == "fp32":
        return encoder, contextlib.nullcontext()
    if precision == "bf16":
        return encoder, torch.autocast("cpu", dtype=torch.bfloat16)
    if precision == "int8":
        quantized = torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8)
        return quantized, contextlib.nullcontext()
    raise ValueError(f"precision {precision!r}: expected fp32, bf16 or int8")


def main(hub_dir, adapter_dir, workloads_path, threads, precision="fp32"):
    torch.set_num_threads(int(threads))
    encoder, context = with_precision(load_encoder(hub_dir, adapter_dir), precision)
    with open(workloads_path, encoding="utf-8") as f:
        spec = json.load(f)
    results = []
    with torch.inference_mode(), context:
        encoder(*padded(spec["warmup"]))
        for w in spec["workloads"]:
            inputs = [padded(b) for b in w["batches"]]
            start = time.perf_counter()
            for ids, mask in inputs:
                encoder(ids, mask)
            results.append({"name": w["name"], "seconds": time.perf_counter() - start})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results,
                      "peakRssBytes": peak}))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    main(*sys.argv[1:])
