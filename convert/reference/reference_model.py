"""The PyTorch reference forward pass (inference, dropout off), as ordinary torch modules.

BERT follows transformers' models/bert/modeling_bert.py (BertModel); the bottleneck adapter follows the adapters
library's methods/modeling.py (Adapter.pre_forward / forward / post_forward) and methods/bottleneck.py
(BottleneckLayer: which layers get one, how wide). Module and parameter names are Hugging Face's, so
state_dict() yields the checkpoint names: `encoder.layer.{i}.output.adapters.{name}.adapter_up.weight`, ...
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

# nn.LayerNorm's default: the adapter's own LayerNorms do not use the model's layer_norm_eps.
ADAPTER_LAYER_NORM_EPS = 1e-5


def gelu_new(x):
    """The tanh approximation (transformers' NewGELUActivation); "gelu" is the exact erf form."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_new": gelu_new,
    "swish": F.silu,
    "silu": F.silu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leakyrelu": F.leaky_relu,
}


class Activation(nn.Module):
    """A parameterless module, so that it can sit in adapter_down's nn.Sequential as upstream's does."""

    def __init__(self, name):
        super().__init__()
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
        self.name = name

    def forward(self, x):
        return ACTIVATIONS[self.name](x)


class Bottleneck(nn.Module):
    """One bottleneck adapter at one site. `cfg` holds the resolved adapter options (docs/architecture.md, "Adapters")."""

    def __init__(self, hidden, down, cfg):
        super().__init__()
        self.cfg = cfg
        seq = []
        if cfg["ln_before"]:
            # Registered twice on purpose: the checkpoint holds it as adapter_norm_before.* and adapter_down.0.*.
            self.adapter_norm_before = nn.LayerNorm(hidden, eps=ADAPTER_LAYER_NORM_EPS)
            seq.append(self.adapter_norm_before)
        seq += [nn.Linear(hidden, down), Activation(cfg["non_linearity"])]
        self.adapter_down = nn.Sequential(*seq)
        self.adapter_up = nn.Linear(down, hidden)
        if cfg["ln_after"]:
            self.adapter_norm_after = nn.LayerNorm(hidden, eps=ADAPTER_LAYER_NORM_EPS)

    def forward(self, h, input_tensor, layer_norm):
        c = self.cfg
        # pre_forward
        if c["residual_before_ln"] is True:
            residual = h
        if c["original_ln_before"]:
            h = h + input_tensor
            if c["residual_before_ln"] == "post_add":
                residual = h
            h = layer_norm(h)
        elif c["residual_before_ln"] == "post_add":
            raise ValueError('residual_before_ln "post_add" needs original_ln_before (upstream has no residual then)')
        if c["residual_before_ln"] is False:
            residual = h
        # forward
        out = self.adapter_up(self.adapter_down(h)) * c["scaling"]
        if c["adapter_residual_before_ln"]:
            out = out + residual
        if c["ln_after"]:
            out = self.adapter_norm_after(out)
        if not c["adapter_residual_before_ln"]:
            out = out + residual
        # post_forward
        if c["original_ln_after"]:
            out = layer_norm(out + input_tensor)
        return out


class AddNorm(nn.Module):
    """BertSelfOutput / BertOutput: dense, then LayerNorm(h + input), or the active adapter at this site."""

    def __init__(self, width_in, config):
        super().__init__()
        self.dense = nn.Linear(width_in, config["hidden_size"])
        self.LayerNorm = nn.LayerNorm(config["hidden_size"], eps=config["layer_norm_eps"])
        self.adapters = nn.ModuleDict()

    def forward(self, h, input_tensor, adapter):
        h = self.dense(h)
        if adapter is not None and adapter in self.adapters:
            return self.adapters[adapter](h, input_tensor, self.LayerNorm)
        return self.LayerNorm(h + input_tensor)


class BertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.head_size = hidden // self.heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, x, mask_bias):
        batch, length, hidden = x.shape

        def split(t):  # [batch, length, hidden] -> [batch, heads, length, head_size]
            return t.view(batch, length, self.heads, self.head_size).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_size) + mask_bias  # [batch, heads, length, length]
        context = torch.softmax(scores, dim=-1) @ v
        return context.transpose(1, 2).reshape(batch, length, hidden)


class BertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = AddNorm(config["hidden_size"], config)

    def forward(self, x, mask_bias, adapter):
        return self.output(self.self(x, mask_bias), x, adapter)


class BertIntermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config["hidden_size"], config["intermediate_size"])
        self.act = Activation(config["hidden_act"])

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = AddNorm(config["intermediate_size"], config)

    def forward(self, x, mask_bias, adapter):
        attn = self.attention(x, mask_bias, adapter)
        return self.output(self.intermediate(attn), attn, adapter)


class BertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config["num_hidden_layers"]))


class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden = config["hidden_size"]
        self.word_embeddings = nn.Embedding(config["vocab_size"], hidden, padding_idx=config["pad_token_id"])
        self.position_embeddings = nn.Embedding(config["max_position_embeddings"], hidden)
        self.token_type_embeddings = nn.Embedding(config["type_vocab_size"], hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=config["layer_norm_eps"])
        # Persistent as in transformers < 4.31, which saved it into checkpoints such as specter2_base's.
        self.register_buffer("position_ids", torch.arange(config["max_position_embeddings"]).unsqueeze(0))

    def forward(self, ids):
        positions = self.position_ids[:, : ids.shape[1]]
        token_types = torch.zeros_like(ids)  # SPECTER2 never passes token_type_ids
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_types)
        return self.LayerNorm(x)


class BertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config["hidden_size"], config["hidden_size"])

    def forward(self, last):
        return torch.tanh(self.dense(last[:, 0]))


class BertModel(nn.Module):
    """config: the config.json dict. Adapters are added by name; forward picks one (or none) per call."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)

    def add_adapter(self, name, cfg):
        """As BottleneckLayer.add_adapter: a Bottleneck at each enabled site of every layer not in leave_out."""
        hidden = self.config["hidden_size"]
        for i, layer in enumerate(self.encoder.layer):
            if i in cfg["leave_out"]:
                continue
            down = hidden // reduction_factor(cfg, i)
            if cfg["mh_adapter"]:
                layer.attention.output.adapters[name] = Bottleneck(hidden, down, cfg)
            if cfg["output_adapter"]:
                layer.output.adapters[name] = Bottleneck(hidden, down, cfg)

    def forward(self, ids, mask, adapter=None):
        """Returns (hidden states [embeddings output, layer 1 output, ...], pooler output)."""
        # transformers' get_extended_attention_mask: masked keys get the most negative float32.
        mask_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        hidden = [self.embeddings(ids)]
        for layer in self.encoder.layer:
            hidden.append(layer(hidden[-1], mask_bias, adapter))
        return hidden, self.pooler(hidden[-1])


def reduction_factor(cfg, layer):
    rf = cfg["reduction_factor"]
    if isinstance(rf, dict):
        return rf[str(layer)] if str(layer) in rf else rf["default"]
    return rf


def mean_pool(last, mask):
    """Mask-weighted mean over the valid tokens. [batch, length, hidden] -> [batch, hidden]"""
    m = mask.unsqueeze(-1).float()
    return (last * m).sum(dim=1) / m.sum(dim=1)
