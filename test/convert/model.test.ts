// End-to-end conversions of the PyTorch-made fixtures (convert/reference/make_convert_fixtures.py): every
// written tensor equals what torch holds, bit for bit; configs, vocabulary and manifest are what the layout says.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { convertModel } from "../../convert/convert";
import { replaceDirectory } from "../../src/node/modelDirWriter";
import type { AdapterSpec, BertConfig } from "../../src/model/config";
import type { Manifest, TokenizerConfigFile } from "../../src/weights/modelDir";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from "../../src/weights/modelDir";
import { readSafetensors } from "../../src/node/modelDirectory";
import { expectSameTensors, fixture, readExpected, tempDir } from "../helpers/convert";

const TINY: BertConfig = {
  vocab_size: 12,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  hidden_act: "gelu",
  layer_norm_eps: 1e-12,
  max_position_embeddings: 16,
  type_vocab_size: 2,
  pad_token_id: 0,
};

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

function weights(path: string) {
  return readSafetensors(path).tensors;
}

/** Every file under dir, relative, with forward slashes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split("\\").join("/"))
    .sort();
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("base models", () => {
  it("a bert.-prefixed pytorch_model.bin with gamma/beta, heads, a buffer, strided and shared storages", async () => {
    const out = join(tempDir("prefixed"), "model");
    await convertModel({ base: fixture("bin_prefixed", "base"), adapters: [], out });
    expectSameTensors(weights(join(out, "model.safetensors")), readExpected("bin_prefixed_f32"));
    expect(readJson(join(out, "config.json"))).toEqual(TINY);
    expect(readFileSync(join(out, "vocab.txt"))).toEqual(readFileSync(fixture("bin_prefixed", "base", "vocab.txt")));
    const tokenizer: TokenizerConfigFile = {
      do_lower_case: true,
      strip_accents: null,
      tokenize_chinese_chars: true,
      // The file says ~1e30; 512 would be the cap, and this tiny model has only 16 positions.
      model_max_length: 16,
      unk_token: "[UNK]",
      sep_token: "[SEP]",
      pad_token: "[PAD]",
      cls_token: "[CLS]",
      mask_token: "[MASK]",
    };
    expect(readJson(join(out, "tokenizer_config.json"))).toEqual(tokenizer);
    const manifest = readJson<Manifest>(join(out, "manifest.json"));
    expect(manifest.base.ignored.sort()).toEqual(["bert.embeddings.position_ids", "cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.seq_relationship.weight"]);
  });

  it("the same checkpoint as float16: rounded exactly as torch's .half()", async () => {
    const out = join(tempDir("prefixed16"), "model");
    const manifest = await convertModel({ base: fixture("bin_prefixed", "base"), adapters: [], out, dtype: "float16" });
    expect(manifest.dtype).toBe("float16");
    expectSameTensors(weights(join(out, "model.safetensors")), readExpected("bin_prefixed_f16"));
  });

  it.each([
    ["float32", "safetensors_f16_f32"],
    ["float16", "safetensors_f16_f16"],
  ] as const)("a float16 model.safetensors without prefix or pooler, as %s", async (dtype, expected) => {
    const out = join(tempDir("st16"), "model");
    await convertModel({ base: fixture("safetensors_f16", "base"), adapters: [], out, dtype });
    expectSameTensors(weights(join(out, "model.safetensors")), readExpected(expected));
    expect(readJson(join(out, "config.json"))).toEqual({ ...TINY, hidden_act: "gelu_new" });
    // No tokenizer files in the snapshot: BertTokenizer's defaults.
    expect(readJson<TokenizerConfigFile>(join(out, "tokenizer_config.json")).do_lower_case).toBe(true);
  });

  it("a bfloat16 pytorch_model.bin, widened exactly to float32", async () => {
    const out = join(tempDir("bf16"), "model");
    await convertModel({ base: fixture("bin_bf16", "base"), adapters: [], out });
    expectSameTensors(weights(join(out, "model.safetensors")), readExpected("bin_bf16_f32"));
  });
});

describe("adapters", () => {
  const base = fixture("bin_prefixed", "base");
  let out: string;
  let manifest: Manifest;

  beforeAll(async () => {
    out = join(tempDir("adapters"), "model");
    manifest = await convertModel({
      base,
      adapters: [{ name: "shared", dir: fixture("adapters", "ln_shared") }, { dir: fixture("adapters", "legacy_gelu") }, { name: "hou", dir: fixture("adapters", "houlsby_preset") }],
      out,
    });
  });

  it("ln_before/ln_after at both sites, one LayerNorm stored once, leave_out honoured", () => {
    expectSameTensors(weights(join(out, "adapters", "shared.safetensors")), readExpected("adapter_ln_shared"));
    expect(readJson<AdapterSpec>(join(out, "adapters", "shared.json"))).toEqual({
      name: "[LNS]",
      hidden_size: 16,
      config: {
        mh_adapter: true,
        output_adapter: true,
        reduction_factor: { "0": 2, default: 4 },
        non_linearity: "gelu",
        original_ln_before: true,
        original_ln_after: true,
        residual_before_ln: "post_add",
        adapter_residual_before_ln: true,
        ln_before: true,
        ln_after: true,
        scaling: 0.5,
        leave_out: [1, 7],
      },
    });
  });

  it("a legacy adapter: no version (gelu means gelu_new), layer_text_task_adapters, named after its directory", () => {
    expectSameTensors(weights(join(out, "adapters", "legacy_gelu.safetensors")), readExpected("adapter_legacy"));
    const spec = readJson<AdapterSpec>(join(out, "adapters", "legacy_gelu.json"));
    expect(spec.name).toBe("legacy");
    expect(spec.config.non_linearity).toBe("gelu_new");
  });

  it("a preset-name config with float16 weights", () => {
    expectSameTensors(weights(join(out, "adapters", "hou.safetensors")), readExpected("adapter_houlsby_preset_f32"));
    expect(readJson<AdapterSpec>(join(out, "adapters", "hou.json")).config).toEqual({
      mh_adapter: true,
      output_adapter: true,
      reduction_factor: 16,
      non_linearity: "swish",
      original_ln_before: false,
      original_ln_after: true,
      residual_before_ln: true,
      adapter_residual_before_ln: false,
      ln_before: false,
      ln_after: false,
      scaling: 1,
      leave_out: [],
    });
  });

  it("a manifest that lists and checksums every file, with the sources and what was skipped", () => {
    expect(readJson(join(out, "manifest.json"))).toEqual(manifest);
    expect(manifest.format).toBe(MODEL_FORMAT);
    expect(manifest.formatVersion).toBe(MODEL_FORMAT_VERSION);
    expect(manifest.dtype).toBe("float32");
    expect(manifest.converter).toMatch(/^specter2-tfjs \d+\.\d+\.\d+/);
    expect(Math.abs(Date.parse(manifest.created) - Date.now())).toBeLessThan(120_000);

    const written = filesUnder(out).filter((f) => f !== "manifest.json");
    expect(Object.keys(manifest.files).sort()).toEqual(written);
    expect(written).toEqual([
      "adapters/hou.json",
      "adapters/hou.safetensors",
      "adapters/legacy_gelu.json",
      "adapters/legacy_gelu.safetensors",
      "adapters/shared.json",
      "adapters/shared.safetensors",
      "config.json",
      "model.safetensors",
      "tokenizer_config.json",
      "vocab.txt",
    ]);
    for (const f of written) {
      expect(manifest.files[f]).toEqual({ sha256: sha256File(join(out, f)), bytes: statSync(join(out, f)).size });
    }

    expect(manifest.base.source).toBe(base);
    expect(manifest.base.origin).toBe("folder"); // converted from a folder given as such: no repo or commit
    expect(manifest.base.repo).toBeUndefined();
    const baseFiles = ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "pytorch_model.bin"];
    expect(manifest.base.files).toEqual(baseFiles.map((f) => ({ path: f, sha256: sha256File(join(base, f)), bytes: statSync(join(base, f)).size })));

    const shared = manifest.adapters.shared;
    expect(shared).toEqual({
      config: "adapters/shared.json",
      weights: "adapters/shared.safetensors",
      source: fixture("adapters", "ln_shared"),
      origin: "folder",
      sourceFiles: ["adapter_config.json", "pytorch_adapter.bin"].map((f) => {
        const p = fixture("adapters", "ln_shared", f);
        return { path: f, sha256: sha256File(p), bytes: statSync(p).size };
      }),
      skipped: ["head_config.json", "pytorch_model_head.bin"],
    });
    expect(manifest.adapters.legacy_gelu.sourceFiles.map((f) => f.path)).toEqual(["adapter_config.json", "adapter.safetensors"]);
    expect(manifest.adapters.hou.skipped).toEqual([]);
  });
});

describe("writing the model directory", () => {
  const base = fixture("safetensors_f16", "base");

  it("re-running into the same directory replaces it cleanly, leaving nothing beside it", async () => {
    const parent = tempDir("rerun");
    const out = join(parent, "model");
    await convertModel({ base: fixture("bin_prefixed", "base"), adapters: [{ dir: fixture("adapters", "legacy_gelu") }], out });
    await convertModel({ base, adapters: [], out });
    expect(readdirSync(parent)).toEqual(["model"]);
    expect(filesUnder(out)).toEqual(["config.json", "manifest.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"]);
    expectSameTensors(weights(join(out, "model.safetensors")), readExpected("safetensors_f16_f32"));
  });

  it("a failed conversion leaves the previous model untouched and no half-written one", async () => {
    const parent = tempDir("keep");
    const out = join(parent, "model");
    await convertModel({ base, adapters: [], out });
    const before = filesUnder(out).map((f) => [f, sha256File(join(out, f))]);
    const bad = convertModel({ base, adapters: [{ dir: join(parent, "no-such-adapter") }], out });
    await expect(bad).rejects.toThrow("no-such-adapter does not exist");
    expect(filesUnder(out).map((f) => [f, sha256File(join(out, f))])).toEqual(before);
    expect(readdirSync(parent)).toEqual(["model"]);
  });

  it("a failure while writing leaves the previous model untouched and removes the partial one", async () => {
    const parent = tempDir("midway");
    const out = join(parent, "model");
    await convertModel({ base, adapters: [], out });
    const before = filesUnder(out).map((f) => [f, sha256File(join(out, f))]);
    expect(() =>
      replaceDirectory(out, new Set(["config.json"]), (dir) => {
        writeFileSync(join(dir, "config.json"), "{}");
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    expect(filesUnder(out).map((f) => [f, sha256File(join(out, f))])).toEqual(before);
    expect(readdirSync(parent)).toEqual(["model"]);
  });

  it("creates missing parent directories of --out", async () => {
    const out = join(tempDir("parents"), "a", "b", "model");
    await convertModel({ base, adapters: [], out });
    expect(existsSync(join(out, "manifest.json"))).toBe(true);
  });
});
