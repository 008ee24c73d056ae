"""Writes a reference model the way the Hugging Face Hub holds it: a base repo and one repo per adapter.

Formats follow the Hub's: config.json as transformers writes a BertModel's, tokenizer files, weights as
torch.save(state_dict) (zip) or model.safetensors; adapters as adapter-transformers 3.x, the `adapters`
library 1.x, or legacy (no version key, `*_text_task_adapters` infixes) write them.
"""
import json
import os

import torch

from safetensors_io import write_safetensors

SPECIAL_TOKENS = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                  "mask_token": "[MASK]"}
# The Hub's tokenizer_config.json for specter2_base says "no limit" with this integer (int(1e30)).
NO_MAX_LENGTH = 1000000000000000019884624838656

# BnConfig's fields besides the ones each case sets, as adapter-transformers 3.x writes them.
_BN_V3_REST = {
    "init_weights": "bert", "is_parallel": False, "inv_adapter": None, "inv_adapter_reduction_factor": None,
    "cross_adapter": False, "use_gating": False, "phm_layer": False, "phm_dim": 4, "factorized_phm_W": True,
    "shared_W_phm": False, "shared_phm_rule": True, "factorized_phm_rule": False, "phm_c_init": "normal",
    "phm_init_range": 0.0001, "learn_phm": True, "hypercomplex_nonlinearity": "glorot-uniform", "phm_rank": 1,
    "phm_bias": True,
}
# The `adapters` library (1.x) adds these to every bottleneck config.
_BN_V1_EXTRA = {"architecture": "bottleneck", "dropout": 0.0, "stochastic_depth": 0.0}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def hub_bert_config(config, dtype, with_adapters_key):
    """config.json of a saved BertModel; `adapters` is the key adapter-transformers leaves behind."""
    out = {"_name_or_path": "specter2-tfjs-fixture", "architectures": ["BertModel"],
           "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_dropout_prob": 0.1,
           "initializer_range": 0.02, "model_type": "bert", "position_embedding_type": "absolute",
           "torch_dtype": dtype, "transformers_version": "4.29.2", "use_cache": True, **config}
    if with_adapters_key:
        out["adapters"] = {"adapters": {}, "config_map": {}, "fusion_config_map": {}, "fusions": {}}
    return dict(sorted(out.items()))


def base_state_dict(model):
    """The encoder's tensors without any adapter's."""
    return {k: v for k, v in model.state_dict().items() if ".adapters." not in k}


def write_base(directory, config_json, vocab, weights, weights_format):
    """weights: name -> tensor, already prefixed/cast as the case wants; weights_format "bin" or "safetensors".
    vocab: the tokens, or the repository-relative path of the committed scivocab (test/fixtures/vocab), which is
    not copied again: the tests put it in place as vocab.txt."""
    os.makedirs(directory, exist_ok=True)
    write_json(os.path.join(directory, "config.json"), config_json)
    if not isinstance(vocab, str):
        with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("".join(token + "\n" for token in vocab))
    write_json(os.path.join(directory, "tokenizer_config.json"), {
        "clear_up_tokenization_spaces": True, "do_basic_tokenize": True, "do_lower_case": True,
        "model_max_length": NO_MAX_LENGTH, "never_split": None, "strip_accents": None,
        "tokenize_chinese_chars": True, "tokenizer_class": "BertTokenizer", **SPECIAL_TOKENS})
    write_json(os.path.join(directory, "special_tokens_map.json"), SPECIAL_TOKENS)
    if weights_format == "bin":
        torch.save(weights, os.path.join(directory, "pytorch_model.bin"))
    else:
        write_safetensors(os.path.join(directory, "model.safetensors"), weights, {"format": "pt"})


def adapter_tensors(model, name, infix="adapters"):
    """The Hub's names for one adapter's tensors: `bert.` prefix, optionally a legacy infix."""
    marker = f".adapters.{name}."
    out = {}
    for key, value in model.state_dict().items():
        if marker in key:
            if infix != "adapters":
                site_infix = infix.replace("layer_", "attention_") if ".attention.output." in key else infix
                key = key.replace(marker, f".{site_infix}.{name}.")
            out["bert." + key] = value
    return out


def adapter_config_json(style, name, hidden, options):
    """style: "v3" (adapter-transformers 3.x), "adapters1" (`adapters` library 1.x), "legacy" (no version key),
    or "preset:<name>" (the config given as a preset name). options: the case's BnConfig values as written."""
    common = {"hidden_size": hidden, "model_class": "BertAdapterModel", "model_name": "specter2-tfjs-fixture",
              "model_type": "bert", "name": name}
    if style.startswith("preset:"):
        return {"config": style[len("preset:"):], **common, "version": "3.2.1"}
    if style == "v3":
        return {"config": dict(sorted({**_BN_V3_REST, **options}.items())), **common, "version": "3.2.1"}
    if style == "adapters1":
        return {"config": dict(sorted({**_BN_V3_REST, **_BN_V1_EXTRA, **options}.items())), **common,
                "version": "adapters.1.0.0"}
    if style == "legacy":
        return {"config": dict(sorted(options.items())), **common}
    raise ValueError(f"unknown adapter config style {style!r}")


def write_adapter(directory, config_json, tensors, weights_format):
    os.makedirs(directory, exist_ok=True)
    write_json(os.path.join(directory, "adapter_config.json"), config_json)
    if weights_format == "bin":
        torch.save(tensors, os.path.join(directory, "pytorch_adapter.bin"))
    else:
        # safetensors cannot share storage: ln_before's LayerNorm is written under both of its names.
        write_safetensors(os.path.join(directory, "adapter.safetensors"), {k: v.clone() for k, v in tensors.items()},
                          {"format": "pt"})


def write_head(directory, name, hidden, generator):
    """A classification head as adapter-transformers saves it next to an adapter; not part of the embedding."""
    write_json(os.path.join(directory, "head_config.json"), {
        "config": {"activation_function": "tanh", "bias": True, "head_type": "classification",
                   "label2id": {"LABEL_0": 0, "LABEL_1": 1}, "layers": 2, "num_labels": 2, "use_pooler": False},
        "hidden_size": hidden, "model_class": "BertAdapterModel", "model_name": "specter2-tfjs-fixture",
        "model_type": "bert", "name": name, "version": "3.2.1"})
    head = {f"heads.{name}.1.weight": torch.randn(hidden, hidden, generator=generator) * 0.1,
            f"heads.{name}.1.bias": torch.randn(hidden, generator=generator) * 0.1,
            f"heads.{name}.4.weight": torch.randn(2, hidden, generator=generator) * 0.1,
            f"heads.{name}.4.bias": torch.randn(2, generator=generator) * 0.1}
    torch.save(head, os.path.join(directory, "pytorch_model_head.bin"))
