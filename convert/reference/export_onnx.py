"""Exports the benchmark's full-size random model (benchmarks/fullModel.ts: Hub files) to ONNX for the
onnxruntime-node peer, through the PyTorch reference forward pass (reference_model.py).

    /usr/bin/python3 convert/reference/export_onnx.py HUB_DIR ADAPTER_DIR_NAME OUT.onnx

The graph takes input_ids and attention_mask (int64 [batch, length], both axes dynamic) and returns the CLS
vector of the last layer with the adapter active, which is what SPECTER2 embeds.
"""
import json
import os
import sys

import torch
from torch import nn

from make_model_fixtures import SEQ_BN
from reference_model import BertModel
from safetensors_io import read_safetensors

# The random model's adapters are "pfeiffer" (SeqBnConfig) presets.
PRESETS = {"pfeiffer": SEQ_BN}


class ClsEncoder(nn.Module):
    """The reference model with one adapter, cut down to what an embedding needs."""

    def __init__(self, model, adapter):
        super().__init__()
        self.model = model
        self.adapter = adapter

    def forward(self, ids, mask):
        hidden, _ = self.model(ids, mask, self.adapter)
        return hidden[-1][:, 0]


def load_encoder(hub_dir, adapter_dir):
    """The reference BertModel with the Hub snapshot's base and one adapter, in eval mode."""
    with open(os.path.join(hub_dir, "base", "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    with open(os.path.join(hub_dir, adapter_dir, "adapter_config.json"), encoding="utf-8") as f:
        adapter_config = json.load(f)
    name = adapter_config["name"]
    model = BertModel(config)
    model.add_adapter(name, PRESETS[adapter_config["config"]])
    state = read_safetensors(os.path.join(hub_dir, "base", "model.safetensors"))[0]
    raw = read_safetensors(os.path.join(hub_dir, adapter_dir, "adapter.safetensors"))[0]
    state.update({k.removeprefix("bert."): v for k, v in raw.items()})
    missing, unexpected = model.load_state_dict(state, strict=False)
    # The random checkpoint has no position_ids buffer and no pooler (the CLS embedding does not use it).
    if [m for m in missing if m != "embeddings.position_ids" and not m.startswith("pooler.")] or unexpected:
        raise ValueError(f"checkpoint does not fit the reference model: missing {missing}, unexpected {unexpected}")
    return ClsEncoder(model, name).eval()


def main(hub_dir, adapter_dir, out):
    encoder = load_encoder(hub_dir, adapter_dir)
    ids = torch.ones(2, 16, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "length"}
    with torch.no_grad():
        torch.onnx.export(encoder, (ids, mask), out, input_names=["input_ids", "attention_mask"], output_names=["cls"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "cls": {0: "batch"}},
                          opset_version=14, do_constant_folding=True)
    print(f"wrote {out} (torch {torch.__version__})")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
