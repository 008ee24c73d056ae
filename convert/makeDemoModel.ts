// Builds the embedded demo model, weights/specter2-tiny: the SPECTER2 architecture (BERT + the four
// adapters) at a tiny size, with random weights and a small vocabulary of our own. Its vectors mean
// nothing; it lets a fresh clone run the whole pipeline without downloading anything.
//   npm run build && node dist/convert/makeDemoModel.js weights/specter2-tiny
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { BertConfig } from "../src/model/config";
import { convertModel } from "./convert";
import { SPECTER2_ADAPTERS, writeRandomHubModel } from "./randomModel";

const WORDS = `
the of and in to a is for on with by we that this are from as be an at our which or these it can
was were has have not but also than using used use based new two three between into its their more
model models method methods approach results data analysis study studies paper show shows present
propose proposed network networks neural learning deep language text document documents scientific
science research citation citations graph embedding embeddings representation representations task
tasks training trained performance evaluation benchmark dataset datasets large small high low time
protein proteins cell cells gene genes expression cancer patients clinical disease treatment drug
effect effects function functions structure structures energy quantum physics chemical chemistry
reaction molecular molecule molecules temperature field fields system systems theory problem problems
algorithm algorithms optimization efficient efficiency accuracy classification retrieval search query
queries similarity transformer attention bert pretrained corpus recommendation prediction regression
survey review experimental experiments simulation measurement signal image images vision speech
matrix linear nonlinear equation equations solution solutions dynamics stochastic probability random
statistical inference bayesian estimation observed observations galaxy galaxies star stars mass
climate ocean water soil plant plants species population evolution brain neurons memory behavior
mechanism mechanisms process processes material materials surface thin film magnetic electron spin
`
  .split(/\s+/)
  .filter(Boolean);

/** Special tokens first, then every printable ASCII character alone and as a ## continuation, then words. */
export function demoVocabulary(): string[] {
  const chars = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter((ch) => ch === ch.toLowerCase());
  const pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ...chars, ...chars.map((ch) => `##${ch}`)];
  for (const w of WORDS) if (!pieces.includes(w)) pieces.push(w);
  for (const suffix of ["s", "ed", "ing", "ly", "al", "ion", "tion", "es", "er", "ic"]) pieces.push(`##${suffix}`);
  return pieces;
}

export async function makeDemoModel(out: string): Promise<void> {
  const vocab = demoVocabulary();
  const config: BertConfig = {
    vocab_size: vocab.length,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 256,
    hidden_act: "gelu",
    layer_norm_eps: 1e-12,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    pad_token_id: 0,
  };
  const work = mkdtempSync(join(tmpdir(), "specter2-demo-"));
  try {
    const hub = writeRandomHubModel({ config, vocab, adapters: SPECTER2_ADAPTERS, seed: 2023 }, work);
    await convertModel({ base: hub.base, adapters: hub.adapters, out, describeSource: (dir) => `random weights, seed 2023 (convert/makeDemoModel.ts): ${relative(work, dir)}` });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write("usage: node dist/convert/makeDemoModel.js OUT_DIR\n");
    process.exit(2);
  }
  makeDemoModel(out).then(
    () => process.stdout.write(`wrote ${out}\n`),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
