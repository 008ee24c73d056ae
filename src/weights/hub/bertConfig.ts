// Hub config.json → our normalized BertConfig, with Hugging Face BertConfig's defaults for missing keys
// (transformers/models/bert/configuration_bert.py). Extra keys (e.g. adapter-transformers' "adapters") are ignored.
import type { Activation, BertConfig } from "../../model/config";
import { checkBertConfig } from "../../model/config";
import type { Json } from "./jsonFields";
import { nonNegativeInt, positiveInt, positiveNumber, string } from "./jsonFields";
import { Specter2Error } from "../../errors";

/** The activations of transformers' ACT2FN that our encoder implements. */
const HIDDEN_ACTS: readonly Activation[] = ["gelu", "gelu_new", "relu", "swish", "silu", "tanh", "sigmoid"];

export function parseBertConfig(json: Json, file: string): BertConfig {
  const modelType = json.model_type;
  if (modelType !== undefined && modelType !== "bert") {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: model_type ${JSON.stringify(modelType)} is not supported, only "bert"`, { file, field: "model_type" });
  }
  const positionType = string(json, "position_embedding_type", file, "absolute");
  if (positionType !== "absolute") {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: position_embedding_type "${positionType}" is not supported, only "absolute"`, { file, field: "position_embedding_type" });
  }
  const hiddenAct = string(json, "hidden_act", file, "gelu");
  if (!(HIDDEN_ACTS as readonly string[]).includes(hiddenAct)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: hidden_act "${hiddenAct}" is not supported (supported: ${HIDDEN_ACTS.join(", ")})`, { file, field: "hidden_act" });
  }
  const config: BertConfig = {
    vocab_size: positiveInt(json, "vocab_size", file, 30522),
    hidden_size: positiveInt(json, "hidden_size", file, 768),
    num_hidden_layers: positiveInt(json, "num_hidden_layers", file, 12),
    num_attention_heads: positiveInt(json, "num_attention_heads", file, 12),
    intermediate_size: positiveInt(json, "intermediate_size", file, 3072),
    hidden_act: hiddenAct as Activation,
    layer_norm_eps: positiveNumber(json, "layer_norm_eps", file, 1e-12),
    max_position_embeddings: positiveInt(json, "max_position_embeddings", file, 512),
    type_vocab_size: positiveInt(json, "type_vocab_size", file, 2),
    pad_token_id: nonNegativeInt(json, "pad_token_id", file, 0),
  };
  // The bounds every loader checks (sizes, heads dividing hidden, pad id in the vocabulary), at conversion already.
  return checkBertConfig(config, file);
}
