// A SPECTER2-shaped model with deterministic random weights, written in the Hub's own formats
// (config.json, vocab.txt, model.safetensors; AdapterHub adapter dirs), so `specter2 convert` takes
// it like the real download. It serves the embedded demo model and the full-size benchmark model.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BertConfig } from "../src/model/config";
import type { RawTensor } from "../src/weights/dtypes";
import { serializeSafetensors } from "../src/weights/safetensors";
import { expectedBaseShapes } from "../src/weights/hub/baseWeights";
import { seededGaussian } from "./seededRandom";

function f32(shape: number[], fill: () => number): RawTensor {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = fill();
  return { dtype: "F32", shape, data: new Uint8Array(values.buffer) };
}

/** LayerNorm gains near 1, everything else N(0, std): enough structure for non-uniform attention. */
function randomTensor(name: string, shape: number[], normal: () => number, std: number): RawTensor {
  if (name.endsWith("LayerNorm.weight")) return f32(shape, () => 1 + 0.1 * normal());
  if (name.endsWith("bias")) return f32(shape, () => 0.02 * normal());
  return f32(shape, () => std * normal());
}

export interface RandomAdapter {
  /** Directory name, i.e. the name users give it (proximity, adhoc_query, …). */
  dir: string;
  /** The adapter's own name in its checkpoint ([PRX], [QRY], …). */
  name: string;
}

/** The four SPECTER2 adapters with their checkpoint names. */
export const SPECTER2_ADAPTERS: RandomAdapter[] = [
  { dir: "proximity", name: "[PRX]" },
  { dir: "adhoc_query", name: "[QRY]" },
  { dir: "classification", name: "[CLF]" },
  { dir: "regression", name: "[RGN]" },
];

export interface RandomModelSpec {
  config: BertConfig;
  vocab: string[];
  adapters: RandomAdapter[];
  seed: number;
  /** Standard deviation of matrix entries. */
  std?: number;
}

/** Writes `<out>/base` and `<out>/<adapter.dir>`; returns those directories. */
export function writeRandomHubModel(spec: RandomModelSpec, out: string): { base: string; adapters: { name: string; dir: string }[] } {
  const { config: c, seed } = spec;
  const std = spec.std ?? 0.05;
  if (spec.vocab.length !== c.vocab_size) throw new Error(`vocab has ${spec.vocab.length} tokens, config says ${c.vocab_size}`);
  const normal = seededGaussian(seed);
  const base = join(out, "base");
  mkdirSync(base, { recursive: true });
  const tensors = new Map<string, RawTensor>();
  for (const [name, shape] of expectedBaseShapes(c)) tensors.set(name, randomTensor(name, shape, normal, name.includes("embeddings") ? 0.5 : std));
  writeFileSync(join(base, "model.safetensors"), serializeSafetensors(tensors, { format: "pt" }));
  writeFileSync(join(base, "config.json"), JSON.stringify({ architectures: ["BertModel"], model_type: "bert", ...c, position_embedding_type: "absolute" }, null, 2));
  writeFileSync(join(base, "vocab.txt"), `${spec.vocab.join("\n")}\n`);
  writeFileSync(join(base, "tokenizer_config.json"), JSON.stringify({ do_lower_case: true, model_max_length: 512 }, null, 2));

  const adapters = spec.adapters.map((a, k) => {
    const dir = join(out, a.dir);
    mkdirSync(dir, { recursive: true });
    const bottleneck = Math.floor(c.hidden_size / 16);
    const weights = new Map<string, RawTensor>();
    const adapterNormal = seededGaussian(seed + 1000 + k);
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `bert.encoder.layer.${i}.output.adapters.${a.name}`;
      weights.set(
        `${p}.adapter_down.0.weight`,
        f32([bottleneck, c.hidden_size], () => 0.1 * adapterNormal()),
      );
      weights.set(
        `${p}.adapter_down.0.bias`,
        f32([bottleneck], () => 0.02 * adapterNormal()),
      );
      weights.set(
        `${p}.adapter_up.weight`,
        f32([c.hidden_size, bottleneck], () => 0.1 * adapterNormal()),
      );
      weights.set(
        `${p}.adapter_up.bias`,
        f32([c.hidden_size], () => 0.02 * adapterNormal()),
      );
    }
    writeFileSync(join(dir, "adapter.safetensors"), serializeSafetensors(weights, { format: "pt" }));
    writeFileSync(
      join(dir, "adapter_config.json"),
      JSON.stringify({ config: "pfeiffer", hidden_size: c.hidden_size, model_class: "BertAdapterModel", model_name: "random", model_type: "bert", name: a.name, version: "3.2.1" }, null, 2),
    );
    return { name: a.dir, dir };
  });
  return { base, adapters };
}
