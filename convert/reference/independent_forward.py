"""A second, independent formulation of the forward pass, used only to check reference_model.py.

It reads the tensors as they were written to the Hub files (so it also checks the names and the writers),
computes attention with torch's own nn.functional.multi_head_attention_forward (key_padding_mask) rather than
our BertSelfAttention, and the adapter as the pseudo-code of docs/architecture.md ("Adapters"), line by line, rather than upstream's
pre_forward/forward/post_forward split.
"""
import torch
import torch.nn.functional as F

from reference_model import ADAPTER_LAYER_NORM_EPS

# Written again rather than imported: torch's own tanh GELU here, our hand-written one in reference_model.
ACTIVATIONS = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "swish": lambda x: x * torch.sigmoid(x),
    "silu": lambda x: x * torch.sigmoid(x),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leakyrelu": lambda x: torch.where(x >= 0, x, 0.01 * x),
}


def base_weights(checkpoint):
    """Hub base checkpoint -> unprefixed names (drops `bert.`; heads and buffers are simply not looked up)."""
    return {k[len("bert."):] if k.startswith("bert.") else k: v.float() for k, v in checkpoint.items()}


def adapter_weights(checkpoint, name):
    """Hub adapter checkpoint -> {"<layer>.<site>.<param>": tensor}, site "attention" or "output"."""
    out = {}
    for key, value in checkpoint.items():
        parts = key.split(".")  # bert.encoder.layer.{i}.[attention.]output.<infix>.{name}.<param...>
        i = parts[3]
        site = "attention" if parts[4] == "attention" else "output"
        rest = key.split(f".{name}.", 1)[1]
        out[f"{i}.{site}.{rest}"] = value.float()
    return out


def bottleneck(w, prefix, cfg, h, x, eps):
    """docs/architecture.md, "Adapters": BN(h, input, LN), with LN the site's own pre-trained LayerNorm (w[prefix + LayerNorm])."""
    hidden = h.shape[-1]

    def ln(t):
        return F.layer_norm(t, (hidden,), w["LN.weight"], w["LN.bias"], eps)

    def adapter_ln(t, which):
        gain, bias = w[prefix + which + ".weight"], w[prefix + which + ".bias"]
        return F.layer_norm(t, (hidden,), gain, bias, ADAPTER_LAYER_NORM_EPS)

    residual = h if cfg["residual_before_ln"] is True else None
    if cfg["original_ln_before"]:
        h = h + x
        if cfg["residual_before_ln"] == "post_add":
            residual = h
        h = ln(h)
    if cfg["residual_before_ln"] is False:
        residual = h
    z = adapter_ln(h, "adapter_norm_before") if cfg["ln_before"] else h
    down = prefix + ("adapter_down.1" if cfg["ln_before"] else "adapter_down.0")
    act = ACTIVATIONS[cfg["non_linearity"]]
    out = F.linear(act(F.linear(z, w[down + ".weight"], w[down + ".bias"])), w[prefix + "adapter_up.weight"],
                   w[prefix + "adapter_up.bias"]) * cfg["scaling"]
    out = out + residual if cfg["adapter_residual_before_ln"] else out
    out = adapter_ln(out, "adapter_norm_after") if cfg["ln_after"] else out
    out = out if cfg["adapter_residual_before_ln"] else out + residual
    if cfg["original_ln_after"]:
        out = ln(out + x)
    return out


def forward(base, config, ids, mask, adapter=None, cfg=None):
    """base: base_weights(...); adapter: adapter_weights(...) or None. Returns the list of hidden states."""
    hidden, heads, eps = config["hidden_size"], config["num_attention_heads"], config["layer_norm_eps"]
    act = ACTIVATIONS[config["hidden_act"]]
    b = base
    x = (b["embeddings.word_embeddings.weight"][ids] + b["embeddings.position_embeddings.weight"][: ids.shape[1]]
         + b["embeddings.token_type_embeddings.weight"][0])
    x = F.layer_norm(x, (hidden,), b["embeddings.LayerNorm.weight"], b["embeddings.LayerNorm.bias"], eps)
    states = [x]
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        seq_first = x.transpose(0, 1)  # multi_head_attention_forward wants [length, batch, hidden]
        in_bias = torch.cat([b[p + "attention.self." + n + ".bias"] for n in ("query", "key", "value")])
        h, _ = F.multi_head_attention_forward(
            seq_first, seq_first, seq_first, hidden, heads, None, in_bias, None, None, False, 0.0,
            b[p + "attention.output.dense.weight"], b[p + "attention.output.dense.bias"], training=False,
            key_padding_mask=mask == 0, need_weights=False, use_separate_proj_weight=True,
            q_proj_weight=b[p + "attention.self.query.weight"], k_proj_weight=b[p + "attention.self.key.weight"],
            v_proj_weight=b[p + "attention.self.value.weight"])
        h = h.transpose(0, 1)
        attn = site(b, p + "attention.output.", adapter, f"{i}.attention.", cfg, h, x, eps)
        f = F.linear(act(F.linear(attn, b[p + "intermediate.dense.weight"], b[p + "intermediate.dense.bias"])),
                     b[p + "output.dense.weight"], b[p + "output.dense.bias"])
        x = site(b, p + "output.", adapter, f"{i}.output.", cfg, f, attn, eps)
        states.append(x)
    return states


def site(base, base_prefix, adapter, adapter_prefix, cfg, h, x, eps):
    """LN(h + x), or the adapter if it has weights at this site (absent for leave_out layers and unused sites)."""
    ln = {"LN.weight": base[base_prefix + "LayerNorm.weight"], "LN.bias": base[base_prefix + "LayerNorm.bias"]}
    if adapter is not None and any(k.startswith(adapter_prefix) for k in adapter):
        return bottleneck({**adapter, **ln}, adapter_prefix, cfg, h, x, eps)
    return F.layer_norm(h + x, (h.shape[-1],), ln["LN.weight"], ln["LN.bias"], eps)

