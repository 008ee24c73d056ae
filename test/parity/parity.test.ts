// PyTorch parity through the whole path: Hub-format files → convert → load → (tokenize →) embed, on
// every backend built here (native, wasm, cpu; CASES says which case runs where), compared layer by
// layer with reference outputs that plain PyTorch wrote (convert/reference/make_model_fixtures.py,
// following the transformers and adapters libraries' own code).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compareWithReference, DEFAULT_TOLERANCE, formatParityTable, readReference } from "../../src/parity";
import { Specter2 } from "../../src/node/specter2";
import { alignedBytes } from "../../src/weights/dtypes";
import { convertModelFixture, MODEL_FIXTURES } from "../helpers/modelFixtures";
import { parityBackends } from "../helpers/nativeBackends";

type Backend = ReturnType<typeof parityBackends>[number];
type Case = "specter2_layout" | "houlsby" | "stress" | "full_width";

/**
 * Which case runs on which backend. A case is converted once and compared whole (every run of its
 * reference, every layer) on each backend it is listed for. Together the lists keep every backend
 * checked against PyTorch, every fixture (checkpoint format, adapter layout, equation variant) checked
 * on the fast backends, and every backend checked at the small and at the real width.
 *
 * - houlsby, stress: every backend. Small (≤ 96 positions, width 32), and between them and full_width
 *   every adapter variant of the fixtures (houlsby's two sites and swish; stress's leave_out, adapter
 *   LayerNorms, post_add, scaling, gelu_new and the legacy config; the SPECTER2 seq_bn), so a changed
 *   equation fails on every backend. Masked keys are in both (rows of 3 of 24 and 2 of 16 tokens), and
 *   houlsby's products already cross tfjs-cpu's 48-wide BatchMatMul blocks in every dimension.
 * - full_width: every backend. The only case at BERT-base width (768, 12 heads of 64, 3072): sums over
 *   768 and 3072 terms, where a backend's order of summation moves results most, and the SPECTER2
 *   adapter (the same config as specter2_layout's) at its real size, 768 → 48 → 768. ~20 s on cpu: the
 *   cheapest proof that cpu stays within the tolerance at the real width.
 * - specter2_layout: native and wasm, not cpu. What it adds to the others does not depend on the
 *   backend: the real scivocab and Hugging Face's ids, a plain-dict pytorch_model.bin with position_ids,
 *   adapter-transformers 3.x adapters (the converter's work: the same tensors reach every backend), and
 *   positions up to 511. On cpu its 12 papers padded to 512 positions (12 × 4 × 512² attention scores
 *   per layer and run, in plain JS) took 140–250 s and proved nothing new: tfjs-cpu's Gather, Softmax
 *   and BatchMatMul do not branch on size, and the cases above cover its kernels and its adapter.
 *   Measured with it off cpu: the two breakages below (tanh GELU, the adapter's second LayerNorm
 *   dropped) still fail all three cpu cases. The full path from text below runs it once more on wasm.
 */
const CASES: Record<Backend, Case[]> = {
  native: ["specter2_layout", "houlsby", "stress", "full_width"],
  wasm: ["specter2_layout", "houlsby", "stress", "full_width"],
  cpu: ["houlsby", "stress", "full_width"],
};

/**
 * Tolerance: 1e-4 absolute at every valid position of every layer and cosine ≥ 0.99999
 * for the embeddings. Float32 forward passes in another order of operations differ by a few ulps
 * per op; measured here at most ~1e-5 (full width, 2 layers), so 1e-4 keeps a margin for 12 layers.
 * Changed equations fail it, measured: the adapter's second LayerNorm dropped moves values by ~4,
 * the tanh GELU in place of the erf one by ~1e-3 (while cosine stays at 1.0000000, which is why the
 * absolute bound is the one that matters).
 */
const TOLERANCE = DEFAULT_TOLERANCE;

describe.each(parityBackends())("parity with PyTorch on %s", (backend) => {
  it.each(CASES[backend])("%s: every layer of every run within tolerance", async (name) => {
    const model = await Specter2.load((await convertModelFixture(name)).out, { workers: 0, backend });
    try {
      const reference = join(MODEL_FIXTURES, name, "reference.safetensors");
      const diffs = await compareWithReference(model, reference, TOLERANCE);
      const runs = readReference(reference).meta.runs.map((r) => r.name);
      // Every run of the reference was compared (none silently skipped), every layer and the CLS vector.
      expect([...new Set(diffs.map((d) => d.run))]).toEqual(runs);
      expect(diffs.length).toBe(runs.length * (model.config.num_hidden_layers + 2));
      const bad = diffs.filter((d) => !d.ok);
      if (bad.length > 0) throw new Error(`beyond tolerance on ${backend}:\n${formatParityTable(diffs)}`);
    } finally {
      await model.close();
    }
  });
});

describe("the full path from text", () => {
  it("our tokenizer gives the reference's ids for the SPECTER2-layout papers, and embed() the reference's CLS vectors", async () => {
    const name = "specter2_layout";
    const reference = join(MODEL_FIXTURES, name, "reference.safetensors");
    const meta = JSON.parse(readFileSync(join(MODEL_FIXTURES, name, "reference.json"), "utf8")) as {
      papers: { title: string; abstract: string | null }[];
      runs: { name: string }[];
    };
    const { tensors } = readReference(reference);
    const ids = tensors.get("input_ids")!;
    const [rows, seq] = ids.shape;
    const idValues = new Int32Array(alignedBytes(ids.data));
    const model = await Specter2.load((await convertModelFixture(name)).out, { workers: 0, backend: "wasm" });
    try {
      meta.papers.forEach((paper, r) => {
        const ours = model.tokenizer.encode(model.textOf(paper), { maxLength: 512 }).ids;
        const theirs = Array.from(idValues.subarray(r * seq, (r + 1) * seq)).slice(0, ours.length);
        expect(ours).toEqual(theirs);
        expect(idValues.subarray(r * seq + ours.length, (r + 1) * seq).every((v) => v === 0)).toBe(true);
      });
      for (const run of meta.runs) {
        const vectors = await model.embed(meta.papers, { adapter: run.name === "base" ? null : run.name, batchSize: 3 });
        const cls = tensors.get(`${run.name}.cls`)!;
        const expected = new Float32Array(alignedBytes(cls.data));
        const hidden = cls.shape[1];
        expect(vectors.length).toBe(rows);
        vectors.forEach((v, r) => {
          for (let c = 0; c < hidden; c++) expect(Math.abs(v[c] - expected[r * hidden + c])).toBeLessThanOrEqual(TOLERANCE.maxAbs);
        });
      }
    } finally {
      await model.close();
    }
  });
});
