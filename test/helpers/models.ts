// Converted models for tests, made once per test file in a temporary directory.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertModel } from "../../convert/convert";
import { demoVocabulary } from "../../convert/makeDemoModel";
import { SPECTER2_ADAPTERS, writeRandomHubModel } from "../../convert/randomModel";
import type { BertConfig } from "../../src/model/config";

/** A small SPECTER2-shaped model (BERT + proximity, adhoc_query, classification, regression). */
export async function convertedRandomModel(overrides: Partial<BertConfig> = {}): Promise<string> {
  const vocab = demoVocabulary();
  const config: BertConfig = {
    vocab_size: vocab.length,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    hidden_act: "gelu",
    layer_norm_eps: 1e-12,
    max_position_embeddings: 128,
    type_vocab_size: 2,
    pad_token_id: 0,
    ...overrides,
  };
  const work = mkdtempSync(join(tmpdir(), "specter2-test-model-"));
  const hub = writeRandomHubModel({ config, vocab, adapters: SPECTER2_ADAPTERS, seed: 7 }, join(work, "hub"));
  const out = join(work, "model");
  await convertModel({ base: hub.base, adapters: hub.adapters, out });
  return out;
}
