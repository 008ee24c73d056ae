// The full-size benchmark model: SPECTER2's architecture (768/12/12/3072, vocab 31090) with deterministic
// random weights, written once as Hub files (read by the PyTorch and ONNX peers) and converted for this
// project, both under benchmarks/.cache/ (gitignored: ~440 MB each, never committed).
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { convertModel } from "../convert/convert";
import { demoVocabulary } from "../convert/makeDemoModel";
import { SPECTER2_ADAPTERS, writeRandomHubModel } from "../convert/randomModel";
import type { BertConfig } from "../src/model/config";

export const CACHE = join(__dirname, ".cache");

export const FULL_CONFIG: BertConfig = {
  vocab_size: 31090,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  pad_token_id: 0,
};

export interface FullModel {
  /** Hub-format snapshots: `base/` and one directory per adapter. */
  hub: string;
  /** This project's converted model directory. */
  model: string;
}

/** The demo vocabulary padded with placeholder pieces to SciVocab's size, so the embedding table is full-size. */
function fullVocabulary(): string[] {
  const vocab = demoVocabulary();
  for (let i = 0; vocab.length < FULL_CONFIG.vocab_size; i++) vocab.push(`[unused${i}]`);
  return vocab;
}

export async function ensureFullModel(log: (line: string) => void = () => {}): Promise<FullModel> {
  const hub = join(CACHE, "hub");
  const model = join(CACHE, "specter2-random");
  if (existsSync(join(model, "manifest.json")) && existsSync(join(hub, "base", "config.json"))) return { hub, model };
  log(`building the full-size random model in ${CACHE} (once)`);
  rmSync(hub, { recursive: true, force: true });
  mkdirSync(hub, { recursive: true });
  const written = writeRandomHubModel({ config: FULL_CONFIG, vocab: fullVocabulary(), adapters: SPECTER2_ADAPTERS, seed: 2024 }, hub);
  await convertModel({ base: written.base, adapters: written.adapters, out: model });
  return { hub, model };
}
