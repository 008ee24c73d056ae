"""The PyTorch peer of the benchmark (benchmarks/): times the reference forward pass on the same model and
token ids as the other engines.

    /usr/bin/python3 convert/reference/bench_torch.py HUB_DIR ADAPTER_DIR_NAME WORKLOADS.json THREADS

WORKLOADS.json: {"warmup": [[ids, ...]], "workloads": [{"name": str, "batches": [[[ids...], ...], ...]}]},
each batch padded here to its longest row. Prints one JSON object: seconds per workload and peak RSS.
"""
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


def main(hub_dir, adapter_dir, workloads_path, threads):
    torch.set_num_threads(int(threads))
    encoder = load_encoder(hub_dir, adapter_dir)
    with open(workloads_path, encoding="utf-8") as f:
        spec = json.load(f)
    results = []
    with torch.inference_mode():
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
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
