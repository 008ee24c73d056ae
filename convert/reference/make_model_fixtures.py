#!/usr/bin/env python3
"""Writes test/fixtures/models/<case>/: Hub-format models made by PyTorch and their reference outputs.

Run by hand from the repository root, after `npx tsc -p tsconfig.json` (the scivocab case is tokenized by the
compiled test/helpers/hfTokenizer.js through tokenize_texts.js):
    /usr/bin/python3 convert/reference/make_model_fixtures.py [CASE ...]
Needs torch and numpy only; output is deterministic (fixed seeds). CI never runs it: commit what it writes.
Layout and formats: convert/reference/README.md.
"""
import json
import os
import shutil
import subprocess
import sys
from collections import OrderedDict

import torch

import hub_files
import independent_forward
from paper_texts import PAPERS, paper_text
from reference_model import BertModel, mean_pool
from safetensors_io import read_safetensors, write_safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "models")
SCIVOCAB = os.path.join(ROOT, "test", "fixtures", "vocab", "scivocab_uncased", "vocab.txt")
FORMAT_VERSION = 1

# adapters' SeqBnConfig ("pfeiffer") and DoubleSeqBnConfig ("houlsby"), every option that matters spelled out.
SEQ_BN = {"mh_adapter": False, "output_adapter": True, "reduction_factor": 16, "non_linearity": "relu",
          "original_ln_before": True, "original_ln_after": True, "residual_before_ln": True,
          "adapter_residual_before_ln": False, "ln_before": False, "ln_after": False, "scaling": 1.0,
          "leave_out": []}
DOUBLE_SEQ_BN = {**SEQ_BN, "mh_adapter": True, "original_ln_before": False, "non_linearity": "swish"}
STRESS = {"mh_adapter": True, "output_adapter": True, "reduction_factor": {"0": 4, "default": 8},
          "non_linearity": "gelu_new", "original_ln_before": True, "original_ln_after": True,
          "residual_before_ln": "post_add", "adapter_residual_before_ln": True, "ln_before": True, "ln_after": True,
          "scaling": 0.5, "leave_out": [1]}
# An old file: no version key, no scaling key (default 1.0), and "gelu", which the library loads as gelu_new.
LEGACY_WRITTEN = {"mh_adapter": False, "output_adapter": True, "reduction_factor": 8, "non_linearity": "gelu",
                  "original_ln_before": True, "original_ln_after": True, "residual_before_ln": False,
                  "adapter_residual_before_ln": False, "ln_before": False, "ln_after": False, "leave_out": []}
LEGACY_RESOLVED = {**LEGACY_WRITTEN, "non_linearity": "gelu_new", "scaling": 1.0}


def bert_config(vocab_size, hidden, heads, intermediate, layers, positions, hidden_act="gelu"):
    return {"vocab_size": vocab_size, "hidden_size": hidden, "num_attention_heads": heads,
            "intermediate_size": intermediate, "num_hidden_layers": layers, "max_position_embeddings": positions,
            "hidden_act": hidden_act, "layer_norm_eps": 1e-12, "type_vocab_size": 2, "pad_token_id": 0}


def adapter(directory, name, style, written, resolved, weights="bin", infix="adapters", head=False):
    return {"dir": directory, "name": name, "style": style, "written": written, "resolved": resolved,
            "weights": weights, "infix": infix, "head": head}


def small_vocab(size):
    """[PAD] [UNK] [CLS] [SEP] [MASK] at 0..4, then word pieces (their text only matters for readability)."""
    words = sorted({w.strip(".,;:()[]'\"").lower() for p in PAPERS for w in paper_text(p).split()} - {""})
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    pieces += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
    pieces += [w for w in words if w.isascii() and w.isalpha()]
    if len(pieces) < size:
        raise ValueError(f"only {len(pieces)} distinct pieces for a vocabulary of {size}")
    return pieces[:size]


CASES = {
    "specter2_layout": {
        "seed": 1, "vocab": "scivocab", "texts": [paper_text(p) for p in PAPERS], "papers": PAPERS, "max_length": 512,
        "config": bert_config(31090, 32, 4, 64, 2, 512), "dtype": "float32", "linear_std": 0.2,
        "base": {"format": "bin", "prefix": "", "mlm_head": False, "position_ids": True, "adapters_key": True,
                 "ordered_dict": False},
        "adapters": [adapter("proximity", "[PRX]", "v3", SEQ_BN, SEQ_BN),
                     adapter("adhoc_query", "[QRY]", "v3", SEQ_BN, SEQ_BN)],
        "note": "SPECTER2's layout at small width: scivocab ids from Hugging Face's tokenizer (max_length 512; "
                "row 1 has no abstract, row 2 is truncated to 512), two seq_bn adapters as adapter-transformers 3.x "
                "saves them, base as a plain-dict pytorch_model.bin with the embeddings.position_ids buffer. "
                "hub/base has no vocab.txt of its own: put the committed scivocab (test/fixtures/vocab/scivocab_uncased/vocab.txt) "
                "in place as hub/base/vocab.txt before converting.",
    },
    "houlsby": {
        "seed": 2, "vocab": 300, "ids": {"rows": 4, "lengths": [24, 17, 9, 3]},
        "config": bert_config(300, 32, 4, 64, 2, 64), "dtype": "float32", "linear_std": 0.2,
        "base": {"format": "bin", "prefix": "bert.", "mlm_head": True, "position_ids": True, "adapters_key": False,
                 "ordered_dict": True},
        "adapters": [adapter("topic", "topic", "preset:houlsby", None, DOUBLE_SEQ_BN, head=True)],
        "note": "double_seq_bn given as the preset name \"houlsby\" (mh_adapter and output_adapter, swish, "
                "original_ln_before false); base saved from a model with heads: bert. prefix, cls.predictions.* "
                "(decoder.weight shares the word embeddings' storage) to be ignored, as an OrderedDict; the "
                "adapter dir also holds a prediction head (head_config.json, pytorch_model_head.bin) to skip.",
    },
    "stress": {
        "seed": 3, "vocab": 200, "ids": {"rows": 4, "lengths": [16, 11, 6, 2]},
        "config": bert_config(200, 32, 2, 48, 3, 64), "dtype": "float32", "linear_std": 0.2,
        "base": {"format": "safetensors", "prefix": "", "mlm_head": False, "position_ids": False,
                 "adapters_key": False, "ordered_dict": False},
        "adapters": [adapter("stress", "[STR]", "adapters1", STRESS, STRESS, weights="safetensors"),
                     adapter("legacy", "sst-2", "legacy", LEGACY_WRITTEN, LEGACY_RESOLVED,
                             infix="layer_text_task_adapters")],
        "note": "stress: leave_out [1], ln_before + ln_after (adapter LayerNorms, eps 1e-5), residual_before_ln "
                "post_add, adapter_residual_before_ln, scaling 0.5, reduction_factor per layer with default, "
                "gelu_new, both sites, written by the adapters library 1.0 as adapter.safetensors. legacy: no "
                "version key, non_linearity \"gelu\" computed as gelu_new (the library's rename), "
                "layer_text_task_adapters infix, residual_before_ln false.",
    },
    "full_width": {
        "seed": 4, "vocab": 120, "ids": {"rows": 3, "lengths": [20, 13, 5]},
        "config": bert_config(120, 768, 12, 3072, 2, 128), "dtype": "float16", "linear_std": 0.05,
        "base": {"format": "safetensors", "prefix": "", "mlm_head": False, "position_ids": False,
                 "adapters_key": True, "ordered_dict": False},
        "adapters": [adapter("proximity", "[PRX]", "v3", SEQ_BN, SEQ_BN)],
        "note": "BERT-base width (768, 12 heads, 3072) with 2 layers; base weights stored as float16 in "
                "model.safetensors and the reference computed in float32 from those rounded values; one "
                "SPECTER2 adapter (768 -> 48 -> 768, float32 pytorch_adapter.bin).",
    },
}


def randomize(model, generator, linear_std):
    """Values that look trained: non-unit LayerNorm gains, non-zero biases, linears wide enough that attention
    is clearly non-uniform. Every module, adapters included, in the model's fixed module order."""
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.weight.data = 1 + 0.2 * torch.randn(module.weight.shape, generator=generator)
            module.bias.data = 0.1 * torch.randn(module.bias.shape, generator=generator)
        elif isinstance(module, torch.nn.Linear):
            module.weight.data = linear_std * torch.randn(module.weight.shape, generator=generator)
            module.bias.data = 0.1 * torch.randn(module.bias.shape, generator=generator)
        elif isinstance(module, torch.nn.Embedding):
            module.weight.data = 0.5 * torch.randn(module.weight.shape, generator=generator)


def round_base_to_float16(model):
    """The reference then runs on exactly the values stored as float16."""
    for name, p in model.named_parameters():
        if ".adapters." not in name:
            p.data = p.data.half().float()


def token_ids(case, generator):
    """(ids, mask) as int64 [n, L], padded with [PAD] = 0."""
    if "texts" in case:
        rows = tokenize(case["texts"], SCIVOCAB, case["max_length"])
    else:
        v = case["config"]["vocab_size"]
        # [CLS] random pieces [SEP], ids from the small vocabularies' layout ([CLS] = 2, [SEP] = 3).
        rows = [[2] + torch.randint(5, v, (n - 2,), generator=generator).tolist() + [3] if n >= 2 else [2]
                for n in case["ids"]["lengths"]]
    length = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), length, dtype=torch.int64)
    mask = torch.zeros(len(rows), length, dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def tokenize(texts, vocab, max_length):
    helper = os.path.join(ROOT, "dist", "test", "helpers", "hfTokenizer.js")
    if not os.path.exists(helper):
        sys.exit(f"{helper} is missing: run `npx tsc -p tsconfig.json` first")
    script = os.path.join(ROOT, "convert", "reference", "tokenize_texts.js")
    done = subprocess.run(["node", script, vocab, str(max_length)], input=json.dumps(texts), capture_output=True,
                          text=True, check=True, cwd=ROOT)
    rows = json.loads(done.stdout)
    longest = max(len(r) for r in rows)
    assert longest == max_length, f"one text must reach max_length {max_length}, the longest has {longest} tokens"
    return rows


def base_checkpoint(model, case):
    b = case["base"]
    sd = hub_files.base_state_dict(model)
    if not b["position_ids"]:
        del sd["embeddings.position_ids"]
    if case["dtype"] == "float16":
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    # transformers >= 4.18 saves a plain dict; older code saved model.state_dict() itself, an OrderedDict.
    container = OrderedDict if b["ordered_dict"] else dict
    sd = container((b["prefix"] + k, v) for k, v in sd.items())
    if b["mlm_head"]:
        h, v = case["config"]["hidden_size"], case["config"]["vocab_size"]
        g = torch.Generator().manual_seed(case["seed"] + 100)
        sd["cls.predictions.bias"] = 0.1 * torch.randn(v, generator=g)
        sd["cls.predictions.transform.dense.weight"] = 0.1 * torch.randn(h, h, generator=g)
        sd["cls.predictions.transform.dense.bias"] = 0.1 * torch.randn(h, generator=g)
        sd["cls.predictions.transform.LayerNorm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
        sd["cls.predictions.transform.LayerNorm.bias"] = 0.1 * torch.randn(h, generator=g)
        # Tied as in BertForPreTraining: the same storage as the word embeddings.
        sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]
        sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"]
    return sd


def write_hub(model, case, case_dir, vocab):
    base_dir = os.path.join(case_dir, "hub", "base")
    config_json = hub_files.hub_bert_config(case["config"], case["dtype"], case["base"]["adapters_key"])
    hub_files.write_base(base_dir, config_json, vocab, base_checkpoint(model, case), case["base"]["format"])
    for a in case["adapters"]:
        d = os.path.join(case_dir, "hub", a["dir"])
        cfg = hub_files.adapter_config_json(a["style"], a["name"], case["config"]["hidden_size"], a["written"])
        hub_files.write_adapter(d, cfg, hub_files.adapter_tensors(model, a["name"], a["infix"]), a["weights"])
        if a["head"]:
            hub_files.write_head(d, a["name"], case["config"]["hidden_size"], torch.Generator().manual_seed(7))
    return config_json


def load_written(path):
    """A weights file as it was written, by a reader independent of the writer's input."""
    if path.endswith(".safetensors"):
        return read_safetensors(path)[0]
    return torch.load(path, map_location="cpu")


def weights_file(directory):
    names = [n for n in os.listdir(directory) if n.endswith((".bin", ".safetensors")) and "head" not in n]
    assert len(names) == 1, f"{directory}: expected one weights file, found {names}"
    return os.path.join(directory, names[0])


def check_run(model, case, case_dir, run, ids, mask, hidden, base_cls):
    """Assertions that make the reference trustworthy; each prints the number it checks."""
    name = run["name"]
    a = run["adapter"]
    last = hidden[-1][mask.bool()]
    scale = last.abs().mean().item()
    assert 0.3 < scale < 3, f"{name}: hidden states are not unit-scale (mean |x| = {scale})"
    if a is not None:
        cls = hidden[-1][:, 0]
        change = ((cls - base_cls).norm(dim=-1) / base_cls.norm(dim=-1)).min().item()
        assert change > 1e-2, f"{name}: the adapter barely changes CLS (min relative change {change})"
        print(f"  {name}: adapter changes CLS by >= {change:.3f} (relative)")
    # Padding must not change valid positions: each row alone, unpadded, gives the same values.
    worst = 0.0
    for i in range(ids.shape[0]):
        n = int(mask[i].sum())
        alone, _ = model(ids[i:i + 1, :n], mask[i:i + 1, :n], None if a is None else a["name"])
        worst = max(worst, max((x[0] - y[i, :n]).abs().max().item() for x, y in zip(alone, hidden)))
    # Same math on other shapes: only summation order differs (float32 rounding, ~1e-6 at this scale).
    assert worst < 1e-4, f"{name}: padding changes valid outputs by {worst}"
    # The independent formulation, from the files as written.
    base = independent_forward.base_weights(load_written(weights_file(os.path.join(case_dir, "hub", "base"))))
    adapter_w = None
    if a is not None:
        raw = load_written(weights_file(os.path.join(case_dir, "hub", a["dir"])))
        adapter_w = independent_forward.adapter_weights(raw, a["name"])
    other = independent_forward.forward(base, case["config"], ids, mask, adapter_w, a and a["resolved"])
    diff = max((x - y).abs().max().item() for x, y in zip(other, hidden))
    assert diff < 1e-4, f"{name}: the independent formulation differs by {diff}"
    print(f"  {name}: mean |h| {scale:.2f}; padding invariance {worst:.1e}; independent formulation {diff:.1e}")


def attention_spread(model, ids, mask):
    """Layer 0's attention: the mean over valid queries of the largest weight, against uniform 1/length."""
    with torch.no_grad():
        x = model.embeddings(ids)
        att = model.encoder.layer[0].attention.self
        b, n, _ = x.shape
        q = att.query(x).view(b, n, att.heads, -1).transpose(1, 2)
        k = att.key(x).view(b, n, att.heads, -1).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / att.head_size ** 0.5 + (1.0 - mask[:, None, None, :].float()) * -1e9
        top = torch.softmax(scores, dim=-1).max(dim=-1).values  # [batch, heads, length]
        valid = mask[:, None, :].expand_as(top).bool()
        lengths = mask.sum(dim=1)[:, None, None].expand_as(top).float()
        return (top * lengths)[valid].mean().item()


def build(case_name):
    case = CASES[case_name]
    case_dir = os.path.join(OUT, case_name)
    shutil.rmtree(case_dir, ignore_errors=True)
    print(f"{case_name}:")
    g = torch.Generator().manual_seed(case["seed"])
    model = BertModel(case["config"])
    for a in case["adapters"]:
        model.add_adapter(a["name"], a["resolved"])
    randomize(model, g, case["linear_std"])
    if case["dtype"] == "float16":
        round_base_to_float16(model)
    model.eval()
    if case["vocab"] == "scivocab":
        with open(SCIVOCAB, encoding="utf-8") as f:
            size = len(f.read().split("\n")[:-1])
        vocab = os.path.relpath(SCIVOCAB, ROOT)
    else:
        vocab = small_vocab(case["vocab"])
        size = len(vocab)
    assert size == case["config"]["vocab_size"], f"{case_name}: {size} tokens, config says {case['config']['vocab_size']}"
    ids, mask = token_ids(case, g)
    config_json = write_hub(model, case, case_dir, vocab)

    spread = attention_spread(model, ids, mask)
    # 1 would be uniform attention; trained BERT layers sit far above it.
    assert spread > 2, f"attention is nearly uniform (max weight x length = {spread:.2f})"
    print(f"  attention: max weight is {spread:.1f}x uniform on average")

    runs = [{"name": "base", "adapter": None}] + [{"name": a["dir"], "adapter": a} for a in case["adapters"]]
    tensors = {"input_ids": ids.int(), "attention_mask": mask.int()}
    base_cls = None
    with torch.no_grad():
        for run in runs:
            hidden, pooled = model(ids, mask, None if run["adapter"] is None else run["adapter"]["name"])
            if base_cls is None:
                base_cls = hidden[-1][:, 0]
            check_run(model, case, case_dir, run, ids, mask, hidden, base_cls)
            for k, h in enumerate(hidden):
                tensors[f"{run['name']}.hidden.{k}"] = h
            tensors[f"{run['name']}.cls"] = hidden[-1][:, 0].contiguous()
            tensors[f"{run['name']}.pooler"] = pooled
            tensors[f"{run['name']}.mean"] = mean_pool(hidden[-1], mask)

    path = os.path.join(case_dir, "reference.safetensors")
    write_safetensors(path, tensors, {"format": "specter2-tfjs-reference", "formatVersion": str(FORMAT_VERSION)})
    back, _ = read_safetensors(path)
    assert list(back) == list(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors), path
    hub_files.write_json(os.path.join(case_dir, "reference.json"), {
        "format": "specter2-tfjs-reference",
        "formatVersion": FORMAT_VERSION,
        "command": "/usr/bin/python3 convert/reference/make_model_fixtures.py",
        "torch": torch.__version__,
        "case": case_name,
        "texts": case.get("texts"),
        "papers": case.get("papers"),
        "maxLength": case.get("max_length"),
        "runs": [{"name": r["name"], "adapterDir": None if r["adapter"] is None else f"hub/{r['adapter']['dir']}"}
                 for r in runs],
        "config": config_json,
        "note": case["note"],
    })


def main(names):
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {', '.join(unknown)}; cases: {', '.join(CASES)}")
    torch.set_num_threads(1)  # one summation order, so reruns give the same bytes
    for name in names or list(CASES):
        build(name)


if __name__ == "__main__":
    main(sys.argv[1:])
