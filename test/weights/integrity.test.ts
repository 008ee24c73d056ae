// A model directory is what its manifest says, or it is refused naming the file; weights and embeddings that are
// NaN or ±Inf are reported naming the file and tensor, or the input. Works on copies of weights/specter2-tiny.
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yargs from "yargs";
import { embedCommand } from "../../src/cli/commands/embed";
import { Specter2 } from "../../src/node/specter2";
import { parseSafetensors } from "../../src/weights/safetensors";

const DEMO = join(__dirname, "..", "..", "weights", "specter2-tiny");

function copyOfDemo(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "specter2-integrity-")), "model");
  cpSync(DEMO, dir, { recursive: true });
  return dir;
}

/** Rewrites float32 elements of one tensor of a safetensors file in place (same size, new values). */
function editTensor(path: string, tensor: string, edit: (values: Float32Array) => void): void {
  const bytes = new Uint8Array(readFileSync(path));
  const raw = parseSafetensors(bytes, path).tensors.get(tensor);
  if (!raw || raw.dtype !== "F32") throw new Error(`${path}: no F32 tensor ${tensor}`);
  const values = new Float32Array(raw.data.slice().buffer);
  edit(values);
  bytes.set(new Uint8Array(values.buffer), raw.data.byteOffset);
  writeFileSync(path, bytes);
}

const load = (dir: string, verify: boolean) => Specter2.load(dir, { workers: 0, backend: "wasm", verify });

describe("manifest verification (--verify)", () => {
  test("an untouched model directory passes and loads", async () => {
    const model = await load(copyOfDemo(), true);
    expect(model.adapterNames).toHaveLength(4);
    await model.close();
  });

  test("a file altered without changing its size is refused by sha256, naming it; without verify it loads silently", async () => {
    const dir = copyOfDemo();
    // The lowest mantissa bit of one weight: a finite value, so only the hash can tell.
    editTensor(join(dir, "adapters", "regression.safetensors"), "layer.0.output.adapter_up.weight", (v) => {
      new Uint32Array(v.buffer)[3] ^= 1;
    });
    await expect(load(dir, true)).rejects.toThrow(/failed verification \(1 of 12 files\):\n {2}.*adapters\/regression\.safetensors: sha256 [0-9a-f]{64}, the manifest says 41c3cc10/);
    const model = await load(dir, false);
    await model.close();
  });

  test("a missing file and a resized one are both named", async () => {
    const dir = copyOfDemo();
    rmSync(join(dir, "vocab.txt"));
    appendFileSync(join(dir, "config.json"), " ");
    const error = await load(dir, true).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/\(2 of 12 files\)/);
    expect(error?.message).toMatch(/vocab\.txt: missing/);
    expect(error?.message).toMatch(/config\.json: 258 bytes, the manifest says 257/);
  });

  test("`specter2 embed --verify` refuses an altered model before embedding anything", async () => {
    const dir = copyOfDemo();
    appendFileSync(join(dir, "tokenizer_config.json"), "\n");
    const out = join(dir, "..", "out.jsonl");
    const input = join(dir, "..", "papers.jsonl");
    writeFileSync(input, `${JSON.stringify({ title: "t", abstract: "a" })}\n`);
    const argv = ["embed", "--model", dir, "--input", input, "--output", out, "--backend", "wasm", "--verify"];
    const run = yargs(argv)
      .command(embedCommand)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
    await expect(run).rejects.toThrow(/tokenizer_config\.json: 237 bytes, the manifest says 236/);
  });
});

describe("NaN and Inf", () => {
  test.each([
    [
      "NaN in a base weight",
      "model.safetensors",
      "encoder.layer.1.attention.self.query.weight",
      NaN,
      /model\.safetensors: tensor "encoder\.layer\.1\.attention\.self\.query\.weight" holds NaN at flat index 2/,
    ],
    [
      "+Inf in an adapter",
      "adapters/proximity.safetensors",
      "layer.1.output.adapter_down.bias",
      Infinity,
      /proximity\.safetensors: tensor "layer\.1\.output\.adapter_down\.bias" holds Infinity at flat index 2/,
    ],
  ])("%s is refused at load, naming file, tensor and position", async (_, file, tensor, value, message) => {
    const dir = copyOfDemo();
    // Index 2 exists in every tensor here (the adapters' down biases have 64 / 16 = 4 elements).
    editTensor(join(dir, ...file.split("/")), tensor, (v) => {
      v[2] = value;
    });
    await expect(load(dir, false)).rejects.toThrow(message);
  });

  test("finite weights whose activations overflow float32 give an error naming the input, not NaN vectors", async () => {
    const dir = copyOfDemo();
    // A finite bias of 3e38 (float32 max 3.4e38): the LayerNorm after the adapter sums 64 of them and overflows.
    editTensor(join(dir, "adapters", "classification.safetensors"), "layer.1.output.adapter_up.bias", (v) => v.fill(3e38));
    const model = await load(dir, false);
    try {
      const papers = [{ title: "a fine paper", abstract: "with an abstract" }, "a query"];
      await expect(model.embed(papers, { adapter: "classification" })).rejects.toThrow(/the embedding of input [01] holds (NaN|-?Infinity) at dimension \d+/);
      // The same model is fine with another adapter: the check is per output, not a poisoned model.
      const ok = await model.embed(papers, { adapter: "proximity" });
      expect(ok.every((v) => v.every(Number.isFinite))).toBe(true);
    } finally {
      await model.close();
    }
  });
});
