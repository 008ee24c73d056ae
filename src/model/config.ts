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

/** A bottleneck adapter's options, exactly the adapters library's names (DESIGN.md §3). */
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
