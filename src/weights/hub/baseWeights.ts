// A Hub BERT checkpoint's tensors → Hugging Face BertModel names, checked against config.json, strictly:
// every encoder tensor present with its shape, nothing encoder-like left over, heads set aside by name.
import type { BertConfig } from "../../model/config";
import type { RawTensor } from "../dtypes";
import { listNames, sameShape } from "./tensorChecks";
import { Specter2Error } from "../../errors";

export interface BaseWeights {
  /** BertModel names without `bert.`, in module order. Linear weights stay [out, in] as in PyTorch. */
  tensors: Map<string, RawTensor>;
  /** Original names of the tensors that are not part of the encoder (heads such as cls.*, buffers). */
  ignored: string[];
}

/** Saved by older transformers as persistent buffers; derived from the config, not learned. */
const BUFFERS = new Set(["embeddings.position_ids", "embeddings.token_type_ids"]);
const ENCODER_PART = /^(embeddings|encoder|pooler)\./;
const POOLER = ["pooler.dense.weight", "pooler.dense.bias"];

/** Every tensor BertModel holds for `c` (the pooler aside) and its shape. */
export function expectedBaseShapes(c: BertConfig): Map<string, number[]> {
  const h = c.hidden_size;
  const shapes = new Map<string, number[]>();
  const linear = (name: string, inFeatures: number, outFeatures: number) => {
    shapes.set(`${name}.weight`, [outFeatures, inFeatures]);
    shapes.set(`${name}.bias`, [outFeatures]);
  };
  const layerNorm = (name: string) => {
    shapes.set(`${name}.weight`, [h]);
    shapes.set(`${name}.bias`, [h]);
  };
  shapes.set("embeddings.word_embeddings.weight", [c.vocab_size, h]);
  shapes.set("embeddings.position_embeddings.weight", [c.max_position_embeddings, h]);
  shapes.set("embeddings.token_type_embeddings.weight", [c.type_vocab_size, h]);
  layerNorm("embeddings.LayerNorm");
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const layer = `encoder.layer.${i}`;
    for (const m of ["query", "key", "value"]) linear(`${layer}.attention.self.${m}`, h, h);
    linear(`${layer}.attention.output.dense`, h, h);
    layerNorm(`${layer}.attention.output.LayerNorm`);
    linear(`${layer}.intermediate.dense`, h, c.intermediate_size);
    linear(`${layer}.output.dense`, c.intermediate_size, h);
    layerNorm(`${layer}.output.LayerNorm`);
  }
  return shapes;
}

/** `file` names the checkpoint in errors. */
export function mapBaseWeights(source: Map<string, RawTensor>, config: BertConfig, file: string): BaseWeights {
  const byName = new Map<string, { original: string; tensor: RawTensor }>();
  for (const [original, tensor] of source) {
    const name = modelName(original);
    const clash = byName.get(name);
    if (clash) throw new Specter2Error("BAD_CHECKPOINT", `${file}: "${clash.original}" and "${original}" are the same tensor "${name}"`, { file, tensor: original });
    byName.set(name, { original, tensor });
  }

  const expected = expectedBaseShapes(config);
  const hasPooler = POOLER.some((n) => byName.has(n));
  if (hasPooler) for (const n of POOLER) expected.set(n, n.endsWith("weight") ? [config.hidden_size, config.hidden_size] : [config.hidden_size]);

  const missing = [...expected.keys()].filter((n) => !byName.has(n));
  if (missing.length > 0) throw new Specter2Error("BAD_CHECKPOINT", `${file}: missing encoder tensors: ${listNames(missing)}`, { file, tensor: missing[0] });

  const ignored: string[] = [];
  const unexpected: string[] = [];
  for (const [name, { original }] of byName) {
    if (expected.has(name)) continue;
    if (BUFFERS.has(name) || !ENCODER_PART.test(name)) ignored.push(original);
    else unexpected.push(original);
  }
  if (unexpected.length > 0) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: unexpected encoder tensors for a BertModel of this config.json: ${listNames(unexpected)}`, { file, tensor: unexpected[0] });
  }

  const tensors = new Map<string, RawTensor>();
  for (const [name, shape] of expected) {
    const { original, tensor } = byName.get(name)!;
    if (!sameShape(tensor.shape, shape)) {
      throw new Specter2Error("BAD_CHECKPOINT", `${file}: tensor "${original}" has shape [${tensor.shape.join(", ")}], config.json implies [${shape.join(", ")}]`, {
        file,
        tensor: original,
      });
    }
    tensors.set(name, tensor);
  }
  return { tensors, ignored };
}

/** Strips the `bert.` prefix of models saved with heads; old checkpoints call LayerNorm's weight/bias gamma/beta. */
function modelName(original: string): string {
  const name = original.startsWith("bert.") ? original.slice("bert.".length) : original;
  return name.replace(/\.LayerNorm\.gamma$/, ".LayerNorm.weight").replace(/\.LayerNorm\.beta$/, ".LayerNorm.bias");
}
