// A model whose weights are all finite but whose activations overflow float32 for one token: a copy of the demo
// model (weights/specter2-tiny) with that token's word-embedding row set to 1e38. The embedding LayerNorm sums the
// row's 64 values (6.4e39, past float32's 3.4e38), so every input holding the token comes out NaN, and only those.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSafetensors } from "../../src/weights/safetensors";

const DEMO = join(__dirname, "..", "..", "weights", "specter2-tiny");

/** The token whose row overflows: a whole word of the demo vocabulary, absent from the warm-up text. */
export const OVERFLOWING_TOKEN = "galaxy";

/** A copy of the demo model in a temporary directory, with `token`'s word embedding 1e38 in every dimension. */
export function overflowingModel(token = OVERFLOWING_TOKEN): string {
  const dir = join(mkdtempSync(join(tmpdir(), "specter2-overflow-")), "model");
  cpSync(DEMO, dir, { recursive: true });
  const row = readFileSync(join(dir, "vocab.txt"), "utf8").split("\n").indexOf(token);
  if (row < 0) throw new Error(`"${token}" is not in the demo vocabulary`);
  const path = join(dir, "model.safetensors");
  const bytes = new Uint8Array(readFileSync(path));
  const table = parseSafetensors(bytes, path).tensors.get("embeddings.word_embeddings.weight");
  if (!table || table.dtype !== "F32") throw new Error(`${path}: no F32 word embeddings`);
  const width = table.shape[1];
  const values = new Float32Array(width).fill(1e38);
  bytes.set(new Uint8Array(values.buffer), table.data.byteOffset + row * width * 4);
  writeFileSync(path, bytes);
  return dir;
}
