// Normalized configurations, as our model directory stores them (config.json, adapters/<name>.json).
// Key names follow Hugging Face / AdapterHub so the files read like the upstream ones.
import { Specter2Error } from "../errors";

export const ACTIVATIONS = ["relu", "gelu", "gelu_new", "swish", "silu", "tanh", "sigmoid", "leakyrelu"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export function isActivation(s: unknown): s is Activation {
  return typeof s === "string" && (ACTIVATIONS as readonly string[]).includes(s);
}

/** What becomes the embedding: the last layer's CLS row (SPECTER2's), the mean over the tokens, or BERT's pooler. */
export type Pooling = "cls" | "mean" | "pooler";

/** The BertModel hyper-parameters the encoder needs (a subset of Hugging Face's config.json). */
export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: Activation;
  layer_norm_eps: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  pad_token_id: number;
}

/**
 * Upper bounds of the integer fields of config.json, checked before anything is sized from them (a layer count
 * of 1e9 would otherwise build a billion layers' weight names before any tensor is looked at). Each is far above
 * any published BERT: BERT-large has 24 layers, hidden 1024, intermediate 4096; the largest transformers have
 * about 100–130 layers, hidden 12288–25600, vocabularies of a few hundred thousand tokens, and 128k–1M
 * positions. Within these bounds a config can only make the loader expect tensors, and every expected tensor
 * must then be in the weights file with that shape, so the file's own size bounds what is allocated.
 */
export const BERT_CONFIG_LIMITS = {
  vocab_size: 10_000_000,
  hidden_size: 65_536,
  num_hidden_layers: 256,
  num_attention_heads: 65_536, // and a divisor of hidden_size
  intermediate_size: 262_144, // 4 × the largest hidden_size
  max_position_embeddings: 1 << 20,
  type_vocab_size: 1024, // BERT has 2
} as const satisfies Partial<Record<keyof BertConfig, number>>;

/**
 * A config.json as our model directory stores it, checked field by field before anything is allocated from it:
 * every integer field a safe integer from 1 to its BERT_CONFIG_LIMITS bound (pad_token_id from 0, inside the
 * vocabulary), hidden_size a multiple of num_attention_heads, layer_norm_eps a positive finite number and
 * hidden_act one we implement. A violation is BAD_CHECKPOINT naming `file` and the field. Other keys are dropped.
 */
export function checkBertConfig(value: unknown, file: string): BertConfig {
  const bad = (field: string, detail: string): never => {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: ${detail}`, { file, field });
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return bad("config", `expected a JSON object of BERT hyper-parameters, got ${JSON.stringify(value)}`);
  const json = value as Record<string, unknown>;
  const int = (field: keyof typeof BERT_CONFIG_LIMITS): number => {
    const v = json[field];
    const max = BERT_CONFIG_LIMITS[field];
    if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > max) bad(field, `"${field}" is ${JSON.stringify(v) ?? "missing"}, expected an integer from 1 to ${max}`);
    return v as number;
  };
  const config: BertConfig = {
    vocab_size: int("vocab_size"),
    hidden_size: int("hidden_size"),
    num_hidden_layers: int("num_hidden_layers"),
    num_attention_heads: int("num_attention_heads"),
    intermediate_size: int("intermediate_size"),
    hidden_act: json.hidden_act as Activation,
    layer_norm_eps: json.layer_norm_eps as number,
    max_position_embeddings: int("max_position_embeddings"),
    type_vocab_size: int("type_vocab_size"),
    pad_token_id: json.pad_token_id as number,
  };
  if (!isActivation(config.hidden_act)) bad("hidden_act", `"hidden_act" is ${JSON.stringify(json.hidden_act) ?? "missing"}, expected one of ${ACTIVATIONS.join(", ")}`);
  if (typeof config.layer_norm_eps !== "number" || !Number.isFinite(config.layer_norm_eps) || config.layer_norm_eps <= 0) {
    bad("layer_norm_eps", `"layer_norm_eps" is ${JSON.stringify(json.layer_norm_eps) ?? "missing"}, expected a positive number`);
  }
  if (!Number.isSafeInteger(config.pad_token_id) || config.pad_token_id < 0 || config.pad_token_id >= config.vocab_size) {
    bad("pad_token_id", `"pad_token_id" is ${JSON.stringify(json.pad_token_id) ?? "missing"}, expected an integer from 0 to vocab_size - 1 (${config.vocab_size - 1})`);
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    bad("hidden_size", `hidden_size ${config.hidden_size} is not a multiple of num_attention_heads ${config.num_attention_heads}`);
  }
  return config;
}

/** Where in a BERT layer an adapter sits: after self-attention (`mh_adapter`) or after the feed-forward (`output_adapter`). */
export type AdapterSite = "attention" | "output";

/** A bottleneck adapter's options, exactly the adapters library's names (docs/architecture.md, "Adapters"). */
export interface BottleneckConfig {
  mh_adapter: boolean;
  output_adapter: boolean;
  /** One factor for every layer, or per layer index as a string key with an optional "default". */
  reduction_factor: number | Record<string, number>;
  non_linearity: Activation;
  original_ln_before: boolean;
  original_ln_after: boolean;
  residual_before_ln: boolean | "post_add";
  adapter_residual_before_ln: boolean;
  ln_before: boolean;
  ln_after: boolean;
  scaling: number;
  leave_out: number[];
}

/** One converted adapter: adapters/<key>.json next to adapters/<key>.safetensors. */
export interface AdapterSpec {
  /** The adapter's own name in its checkpoint, e.g. "[PRX]" (informational). */
  name: string;
  hidden_size: number;
  config: BottleneckConfig;
}

/** Adapter LayerNorms (ln_before / ln_after) are plain nn.LayerNorm: eps 1e-5, not the model's. */
export const ADAPTER_LAYER_NORM_EPS = 1e-5;

/** The bottleneck width of layer `layer` for hidden size `hidden`. */
export function bottleneckSize(config: BottleneckConfig, hidden: number, layer: number): number {
  const rf = config.reduction_factor;
  let factor: number | undefined;
  if (typeof rf === "number") factor = rf;
  else factor = rf[String(layer)] ?? rf["default"];
  if (factor === undefined) throw new Specter2Error("BAD_CHECKPOINT", `reduction_factor has no entry for layer ${layer} and no "default"`, { field: "reduction_factor" });
  return Math.floor(hidden / factor);
}

/** The precisions a model's matrix products can run at. fp32 is the default and the parity guarantee; bf16 and
 *  int8 are opt-in, on a backend that offers them. */
export const PRECISIONS = ["fp32", "bf16", "int8"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** A weight matrix's role: the feed-forward's two products, the hidden × hidden ones (query, key, value, attention
 *  output, pooler), and the adapters' bottlenecks. Each module names the role of the matrices it loads. */
export type WeightRole = "ffn_in" | "ffn_out" | "hidden" | "adapter";

/** int8 activations are quantized with one (min, max) per product input ("tensor") or per row. */
export type Int8Scales = "tensor" | "row";

/** How the products of one model run. */
export interface PrecisionPolicy {
  precision: Precision;
  /** The precision of each weight's products, by role. */
  weights: Record<WeightRole, Precision>;
  /** Products of two activations (attention's Q·Kᵀ and P·V): fp32, or both operands rounded to bf16. */
  activations: "fp32" | "bf16";
  int8Scales: Int8Scales;
}

/** Overrides of a precision's defaults (measurements of fidelity and speed use them). */
export type PrecisionOverrides = Partial<Pick<PrecisionPolicy, "activations" | "int8Scales">> & { weights?: Partial<Record<WeightRole, Precision>> };

/**
 * Which products run reduced at each precision, chosen by measured fidelity (benchmarks/precision.ts; the tables are
 * in docs/backends.md, "Precision"). bf16: every product, attention's included. int8: the feed-forward's two products
 * (two thirds of the projection work) with activation ranges per row; the hidden × hidden products, the adapters and
 * attention's in bf16, because every weight product in int8 lost measurably more cosine to fp32 than the
 * feed-forward's alone.
 */
const DEFAULT_POLICIES: Record<Precision, Omit<PrecisionPolicy, "precision">> = {
  fp32: { weights: { ffn_in: "fp32", ffn_out: "fp32", hidden: "fp32", adapter: "fp32" }, activations: "fp32", int8Scales: "row" },
  bf16: { weights: { ffn_in: "bf16", ffn_out: "bf16", hidden: "bf16", adapter: "bf16" }, activations: "bf16", int8Scales: "row" },
  int8: { weights: { ffn_in: "int8", ffn_out: "int8", hidden: "bf16", adapter: "bf16" }, activations: "bf16", int8Scales: "row" },
};

/** The policy a model loaded at `precision` runs under. */
export function precisionPolicy(precision: Precision, overrides: PrecisionOverrides = {}): PrecisionPolicy {
  const d = DEFAULT_POLICIES[precision];
  return {
    precision,
    weights: { ...d.weights, ...overrides.weights },
    activations: overrides.activations ?? d.activations,
    int8Scales: overrides.int8Scales ?? d.int8Scales,
  };
}
