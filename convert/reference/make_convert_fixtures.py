#!/usr/bin/env python3
"""Writes test/fixtures/convert/: tiny Hub-format checkpoints for the converter's tests, made by real PyTorch,
and the values the converter must produce (expected/*.safetensors, written here by hand from the torch tensors).

Run by hand from the repository root:  /usr/bin/python3 convert/reference/make_convert_fixtures.py
Needs torch and numpy only. Output is deterministic (fixed seeds); commit what it writes.
"""
import json
import os
import shutil
import struct

import numpy as np
import torch

FORMAT_VERSION = "1"
GENERATOR = "convert/reference/make_convert_fixtures.py"
OUT = os.path.join("test", "fixtures", "convert")

HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS, TYPES = 16, 2, 2, 32, 16, 2
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "paper", "model", "##s", "graph", "neural", "network"]

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors layout, written directly (the Python package is not needed): contiguous, little-endian."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous()
        # numpy has no bfloat16: take the raw 16-bit patterns.
        data = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def expected(name, tensors):
    os.makedirs(os.path.join(OUT, "expected"), exist_ok=True)
    write_safetensors(os.path.join(OUT, "expected", name + ".safetensors"), tensors,
                      {"format_version": FORMAT_VERSION, "generator": GENERATOR})


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


def bert_state_dict(seed, pooler=True):
    """BertModel's parameters under Hugging Face names, random values at unit scale."""
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "embeddings.word_embeddings.weight": [len(VOCAB), HIDDEN],
        "embeddings.position_embeddings.weight": [POSITIONS, HIDDEN],
        "embeddings.token_type_embeddings.weight": [TYPES, HIDDEN],
        "embeddings.LayerNorm.weight": [HIDDEN],
        "embeddings.LayerNorm.bias": [HIDDEN],
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            shapes[p + m + ".weight"] = [HIDDEN, HIDDEN]
            shapes[p + m + ".bias"] = [HIDDEN]
        shapes[p + "attention.output.LayerNorm.weight"] = [HIDDEN]
        shapes[p + "attention.output.LayerNorm.bias"] = [HIDDEN]
        shapes[p + "intermediate.dense.weight"] = [INTERMEDIATE, HIDDEN]
        shapes[p + "intermediate.dense.bias"] = [INTERMEDIATE]
        shapes[p + "output.dense.weight"] = [HIDDEN, INTERMEDIATE]
        shapes[p + "output.dense.bias"] = [HIDDEN]
        shapes[p + "output.LayerNorm.weight"] = [HIDDEN]
        shapes[p + "output.LayerNorm.bias"] = [HIDDEN]
    if pooler:
        shapes["pooler.dense.weight"] = [HIDDEN, HIDDEN]
        shapes["pooler.dense.bias"] = [HIDDEN]
    return {n: torch.randn(*s, generator=g) for n, s in shapes.items()}


def base_dir(case, config_extra=None, tokenizer_config=None, special_tokens_map=None):
    d = os.path.join(OUT, case, "base")
    os.makedirs(d)
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(VOCAB), "hidden_size": HIDDEN,
              "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE,
              "max_position_embeddings": POSITIONS, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    config.update(config_extra or {})
    write_json(os.path.join(d, "config.json"), config)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("".join(t + "\n" for t in VOCAB))
    if tokenizer_config is not None:
        write_json(os.path.join(d, "tokenizer_config.json"), tokenizer_config)
    if special_tokens_map is not None:
        write_json(os.path.join(d, "special_tokens_map.json"), special_tokens_map)
    return d


def tricky_values(g, n):
    """Unit-scale randoms plus values that exercise float16 rounding: ties, subnormals, underflow, -0."""
    ulp_tie = [1 + 2 ** -11, 1 + 3 * 2 ** -11, -(2 + 2 ** -10), 2 ** -24 * 1.5, 2 ** -25, 2 ** -25 * 1.0001,
               2 ** -26, 6.1e-5, -0.0, 65504.0, 65519.99, 1e-8, 0.1, 1 / 3]
    v = torch.randn(n, generator=g)
    v[: len(ulp_tie)] = torch.tensor(ulp_tie, dtype=torch.float32)
    return v


def make_bin_prefixed():
    """pytorch_model.bin of a BertForPreTraining-style save: `bert.` prefix, gamma/beta LayerNorm names,
    cls.* heads, the position_ids buffer, a non-contiguous (transposed) weight and a shared storage."""
    sd = bert_state_dict(1)
    g = torch.Generator().manual_seed(11)
    sd["embeddings.word_embeddings.weight"] = tricky_values(g, len(VOCAB) * HIDDEN).reshape(len(VOCAB), HIDDEN)
    # Non-contiguous: the stored storage is the transpose; the tensor is a strided view of it.
    sd["encoder.layer.1.output.dense.weight"] = sd["encoder.layer.1.output.dense.weight"].t().contiguous().t()
    # Shared storage: two biases are views into one buffer.
    both = torch.randn(2 * HIDDEN, generator=g)
    sd["encoder.layer.0.attention.self.query.bias"] = both[:HIDDEN]
    sd["encoder.layer.0.attention.self.key.bias"] = both[HIDDEN:]
    saved = {}
    for name, t in sd.items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        saved["bert." + name] = t
    saved["bert.embeddings.position_ids"] = torch.arange(POSITIONS).unsqueeze(0)
    saved["cls.predictions.bias"] = torch.zeros(len(VOCAB))
    saved["cls.predictions.transform.dense.weight"] = torch.randn(HIDDEN, HIDDEN, generator=g)
    saved["cls.seq_relationship.weight"] = torch.randn(2, HIDDEN, generator=g)
    d = base_dir("bin_prefixed",
                 config_extra={"adapters": {"adapters": {}, "config_map": {}, "fusion_config_map": {}, "fusions": {}}},
                 tokenizer_config={"do_lower_case": True, "model_max_length": 1000000000000000019884624838656,
                                   "tokenizer_class": "BertTokenizer",
                                   "unk_token": {"__type": "AddedToken", "content": "[UNK]", "lstrip": False}},
                 special_tokens_map={"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]",
                                     "sep_token": "[SEP]", "unk_token": "[UNK]"})
    torch.save(saved, os.path.join(d, "pytorch_model.bin"))
    expected("bin_prefixed_f32", sd)
    expected("bin_prefixed_f16", {n: t.half() for n, t in sd.items()})


def make_safetensors_f16():
    """model.safetensors in float16, plain BertModel names, no pooler, no tokenizer files but vocab.txt."""
    sd = {n: t.half() for n, t in bert_state_dict(2, pooler=False).items()}
    d = base_dir("safetensors_f16", config_extra={"hidden_act": "gelu_new"})
    write_safetensors(os.path.join(d, "model.safetensors"), sd, {"format": "pt"})
    expected("safetensors_f16_f32", {n: t.float() for n, t in sd.items()})
    expected("safetensors_f16_f16", sd)


def make_bin_bf16():
    """pytorch_model.bin saved in bfloat16 (float32 output is exact)."""
    sd = {n: t.bfloat16() for n, t in bert_state_dict(3).items()}
    d = base_dir("bin_bf16")
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    expected("bin_bf16_f32", {n: t.float() for n, t in sd.items()})


def adapter_dir(name, config_json):
    d = os.path.join(OUT, "adapters", name)
    os.makedirs(d)
    write_json(os.path.join(d, "adapter_config.json"), config_json)
    return d


def linear(g, fan_in, fan_out):
    return torch.randn(fan_out, fan_in, generator=g), torch.randn(fan_out, generator=g)


def make_adapter_ln_shared():
    """adapter-transformers 3.x dict config with ln_before/ln_after at both sites, per-layer reduction factors and
    leave_out; `bert.`-prefixed .bin where adapter_down.0 and adapter_norm_before share one LayerNorm;
    prediction-head files beside it."""
    name = "[LNS]"
    config = {"mh_adapter": True, "output_adapter": True, "reduction_factor": {"0": 2, "default": 4},
              "non_linearity": "gelu", "original_ln_before": True, "original_ln_after": True,
              "residual_before_ln": "post_add", "adapter_residual_before_ln": True, "ln_before": True,
              "ln_after": True, "scaling": 0.5, "leave_out": [1, 7], "init_weights": "bert", "is_parallel": False,
              "phm_layer": False, "inv_adapter": None, "inv_adapter_reduction_factor": None, "use_gating": False,
              "cross_adapter": False, "dropout": 0.0}
    d = adapter_dir("ln_shared", {"config": config, "hidden_size": HIDDEN, "model_class": "BertAdapterModel",
                                  "model_name": "tiny-bert", "model_type": "bert", "name": name, "version": "3.2.1"})
    g = torch.Generator().manual_seed(21)
    saved, ours = {}, {}
    for site, path in [("attention", "attention.output"), ("output", "output")]:
        size = HIDDEN // 2  # layer 0 only: layer 1 is left out
        prefix = f"bert.encoder.layer.0.{path}.adapters.{name}."
        ln = torch.nn.LayerNorm(HIDDEN)
        with torch.no_grad():
            ln.weight.copy_(torch.randn(HIDDEN, generator=g))
            ln.bias.copy_(torch.randn(HIDDEN, generator=g))
        dw, db = linear(g, HIDDEN, size)
        uw, ub = linear(g, size, HIDDEN)
        aw, ab = torch.randn(HIDDEN, generator=g), torch.randn(HIDDEN, generator=g)
        saved.update({prefix + "adapter_norm_before.weight": ln.weight, prefix + "adapter_norm_before.bias": ln.bias,
                      prefix + "adapter_down.0.weight": ln.weight, prefix + "adapter_down.0.bias": ln.bias,
                      prefix + "adapter_down.1.weight": dw, prefix + "adapter_down.1.bias": db,
                      prefix + "adapter_up.weight": uw, prefix + "adapter_up.bias": ub,
                      prefix + "adapter_norm_after.weight": aw, prefix + "adapter_norm_after.bias": ab})
        ours.update({f"layer.0.{site}.adapter_norm_before.weight": ln.weight,
                     f"layer.0.{site}.adapter_norm_before.bias": ln.bias,
                     f"layer.0.{site}.adapter_down.weight": dw, f"layer.0.{site}.adapter_down.bias": db,
                     f"layer.0.{site}.adapter_up.weight": uw, f"layer.0.{site}.adapter_up.bias": ub,
                     f"layer.0.{site}.adapter_norm_after.weight": aw, f"layer.0.{site}.adapter_norm_after.bias": ab})
    torch.save({k: v.detach() for k, v in saved.items()}, os.path.join(d, "pytorch_adapter.bin"))
    write_json(os.path.join(d, "head_config.json"), {"config": {"head_type": "classification", "num_labels": 2},
                                                     "name": name, "version": "3.2.1"})
    torch.save({"heads.[LNS].1.weight": torch.randn(2, HIDDEN, generator=g)}, os.path.join(d, "pytorch_model_head.bin"))
    expected("adapter_ln_shared", {k: v.detach() for k, v in ours.items()})


def make_adapter_legacy():
    """adapter-transformers 1.x: no "version" (so "gelu" means gelu_new), legacy infix layer_text_task_adapters,
    a declared but untrained invertible adapter, no `bert.` prefix; stored as adapter.safetensors."""
    name = "legacy"
    config = {"mh_adapter": False, "output_adapter": True, "reduction_factor": 2, "non_linearity": "gelu",
              "original_ln_before": True, "original_ln_after": True, "residual_before_ln": True,
              "adapter_residual_before_ln": False, "ln_before": False, "ln_after": False, "leave_out": [],
              "invertible_adapter": {"block_type": "nice", "non_linearity": "relu", "reduction_factor": 2}}
    d = adapter_dir("legacy_gelu", {"config": config, "hidden_size": HIDDEN, "model_name": "tiny-bert",
                                    "model_type": "bert", "name": name, "type": "text_task"})
    g = torch.Generator().manual_seed(31)
    saved, ours = {}, {}
    for i in range(LAYERS):
        dw, db = linear(g, HIDDEN, HIDDEN // 2)
        uw, ub = linear(g, HIDDEN // 2, HIDDEN)
        p = f"encoder.layer.{i}.output.layer_text_task_adapters.{name}."
        saved.update({p + "adapter_down.0.weight": dw, p + "adapter_down.0.bias": db,
                      p + "adapter_up.weight": uw, p + "adapter_up.bias": ub})
        ours.update({f"layer.{i}.output.adapter_down.weight": dw, f"layer.{i}.output.adapter_down.bias": db,
                     f"layer.{i}.output.adapter_up.weight": uw, f"layer.{i}.output.adapter_up.bias": ub})
    write_safetensors(os.path.join(d, "adapter.safetensors"), saved)
    expected("adapter_legacy", ours)


def make_adapter_houlsby_preset():
    """`"config": "houlsby"` (a preset name), newer adapters-library version string, float16 .bin weights."""
    name = "[HOU]"
    d = adapter_dir("houlsby_preset", {"config": "houlsby", "hidden_size": HIDDEN, "model_class": "BertAdapterModel",
                                       "model_name": "tiny-bert", "model_type": "bert", "name": name,
                                       "version": "adapters.1.1.0"})
    g = torch.Generator().manual_seed(41)
    saved, ours = {}, {}
    for i in range(LAYERS):
        for site, path in [("attention", "attention.output"), ("output", "output")]:
            dw, db = linear(g, HIDDEN, HIDDEN // 16)
            uw, ub = linear(g, HIDDEN // 16, HIDDEN)
            p = f"encoder.layer.{i}.{path}.adapters.{name}."
            for k, v in [("adapter_down.0.weight", dw), ("adapter_down.0.bias", db),
                         ("adapter_up.weight", uw), ("adapter_up.bias", ub)]:
                saved[p + k] = v.half()
            for k, v in [("adapter_down.weight", dw), ("adapter_down.bias", db),
                         ("adapter_up.weight", uw), ("adapter_up.bias", ub)]:
                ours[f"layer.{i}.{site}.{k}"] = v.half().float()
    torch.save(saved, os.path.join(d, "pytorch_adapter.bin"))
    expected("adapter_houlsby_preset_f32", ours)


def make_casts():
    """Element conversions checked against torch's own: float32→float16 (round to nearest even), float16 and
    bfloat16→float32 (exact). Every float16 bit pattern, a sample of bfloat16 ones, float32 values at every scale."""
    g = torch.Generator().manual_seed(51)
    every16 = torch.arange(-(2 ** 15), 2 ** 15, dtype=torch.int32).to(torch.int16)
    f16 = every16.view(torch.float16)
    bf16 = every16[torch.randperm(every16.numel(), generator=g)[:4096]].view(torch.bfloat16)
    f16, bf16 = f16[~torch.isnan(f16.float())], bf16[~torch.isnan(bf16.float())]  # NaN payloads are not compared
    scales = torch.pow(2.0, torch.arange(-30, 17, dtype=torch.float32)).repeat_interleave(200)
    f32 = torch.cat([torch.randn(scales.numel(), generator=g) * scales, tricky_values(g, 14),
                     (torch.arange(1, 2049, dtype=torch.float32) * 2 ** -11 + 1)])  # every tie in [1, 2)
    f32 = f32[torch.isfinite(f32.half())]
    write_safetensors(os.path.join(OUT, "expected", "casts.safetensors"), {
        "f16": f16, "f16_as_f32": f16.float(), "bf16": bf16, "bf16_as_f32": bf16.float(),
        "f32": f32, "f32_as_f16": f32.half(),
    }, {"format_version": FORMAT_VERSION, "generator": GENERATOR})


def main():
    torch.manual_seed(0)
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    make_bin_prefixed()
    make_safetensors_f16()
    make_bin_bf16()
    make_adapter_ln_shared()
    make_adapter_legacy()
    make_adapter_houlsby_preset()
    make_casts()


if __name__ == "__main__":
    main()
